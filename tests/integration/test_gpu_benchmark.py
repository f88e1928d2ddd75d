"""``benchmarks/gpu.py`` stays ready for a GPU: its whole path runs on the CPU at 16×16 (``--tiny``)."""

import subprocess
import sys

from tests.helpers import REPO


def test_tiny_run_measures_every_precision_and_compile_setting_and_writes_its_section(tmp_path):
    report = tmp_path / "benchmarks.md"
    report.write_text("# Benchmarks\n")
    args = ["--tiny", "--batch", "8", "--warmup", "2", "--iterations", "2", "--repeats", "1"]
    result = subprocess.run(
        [sys.executable, "gpu.py", *args, "--backend", "aot_eager", "--report", str(report)],
        cwd=REPO / "benchmarks",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [
        line.split()
        for line in result.stdout.splitlines()
        if line.split()[:1] in (["32-true"], ["bf16-mixed"], ["16-mixed"])
    ]
    assert [row[:2] for row in rows] == [
        [p, c] for p in ("32-true", "bf16-mixed", "16-mixed") for c in ("off", "on")
    ]
    for row in rows:  # plain and gan samples/s, and their ratio
        plain, gan, ratio = float(row[2]), float(row[3]), float(row[4])
        assert plain > 0 and gan > 0 and abs(ratio - gan / plain) <= 0.02 * ratio  # printed rounded
    assert result.stdout.splitlines()[-1].startswith("ratio ")
    written = report.read_text()
    assert "<!-- benchmark:gpu -->" in written and "compile speed-up of gan at bf16-mixed" in written
