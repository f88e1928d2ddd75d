"""Every shell command in README.md and docs/ runs as typed, through the console script, shortened only
by overrides appended to it (fewer iterations, one validation batch). ``RUN_ID`` stands for the run a
previous ``lightning-gan fit`` in the same folder made. The set-up lines' ``python3 -m venv``/``pip``
parts are what CI runs (``.ci/run`` executes README's test command as written); their
``lightning-gan`` part runs here."""

import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHORT_FIT = [
    "--model.init_args.max_iterations=4",
    "--trainer.val_check_interval=4",
    "--trainer.limit_val_batches=1",
    "--trainer.enable_progress_bar=false",
]
SHORT = {
    "validate": ["--trainer.limit_val_batches=1"],
    "test": ["--trainer.limit_test_batches=1"],
    "predict": ["--trainer.limit_predict_batches=1"],
}


def shell_commands(path: Path) -> list[str]:
    """The command lines of a document's ```bash blocks (continuations joined, comments dropped)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def documented() -> list[tuple[str, str]]:
    """Every documented command but README's test command (CI runs that one, see below)."""
    return [
        (path.name, command)
        for path in DOCUMENTS
        for command in shell_commands(path)
        if not command.endswith("&& pytest")
    ]


def cli_arguments(command: str) -> list[str]:
    """The ``lightning-gan`` part of a command line, shortened by overrides."""
    args = command.split("&&")[-1].split()
    assert args[0] == "lightning-gan", f"a documented command the suite cannot run: {command!r}"
    args = args[1:]
    if "--print_config" in args:
        return args
    if args[0] == "fit" and "--ckpt_path" in args:  # continue the previous run to its end
        return [*args, *SHORT_FIT[1:], "--model.init_args.max_iterations=8"]
    if args[0] == "fit":
        return [*args, *SHORT_FIT]
    return [*args, *SHORT.get(args[0], [])]  # sample, export: as typed


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory) -> Path:
    """A folder holding one short run stopped before its end (4 of 8 iterations, checkpoints at 4)."""
    folder = tmp_path_factory.mktemp("previous")
    shutil.copytree(REPO / "configs", folder / "configs")
    args = ["fit", *SHORT_FIT[1:], "--model.init_args.max_iterations=8", "--trainer.max_steps=8"]
    result = run_cli(args, folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def test_the_documents_show_commands():
    commands = [command for _, command in documented()]
    assert any("--ckpt_path runs/lightning_gan/RUN_ID/checkpoints/best.ckpt" in c for c in commands)
    assert len(commands) >= 10


def test_ci_runs_the_readmes_test_command_as_written():
    assert "README.md" in (REPO / ".ci" / "run").read_text()
    (setup, tests) = [c for c in shell_commands(REPO / "README.md") if c.startswith("python3 -m venv")]
    assert setup.endswith("&& lightning-gan fit") and tests.endswith("&& pytest")


@pytest.mark.slow
@pytest.mark.parametrize(("document", "command"), documented(), ids=lambda value: str(value)[:90])
def test_documented_command_runs(document, command, previous_run, tmp_path):
    folder = tmp_path / "work"
    shutil.copytree(previous_run, folder)
    (run,) = (folder / "runs" / "lightning_gan").iterdir()
    args = [arg.replace("RUN_ID", run.name) for arg in cli_arguments(command)]
    result = run_cli(args, folder)
    assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
    if args[0] == "fit" and "--print_config" not in args:
        assert "iteration 4: val/d_real=" in result.stdout or "--ckpt_path" in args
    if "--ckpt_path" in args and args[0] == "fit":  # continued the stopped run to its 8 iterations
        assert "iteration 8: val/d_real=" in result.stdout
        assert "Restored all states" in result.stdout + result.stderr
    if args[0] in ("validate", "test"):
        assert f"iteration 4: {dict(validate='val', test='test')[args[0]]}/d_real=" in result.stdout
    if args[0] in ("sample", "export"):
        out = folder / args[args.index("--out") + 1]
        assert (out / "samples.npz").is_file() if args[0] == "sample" else out.is_file()


def test_readmes_python_example_runs(tmp_path):
    (example,) = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert "max_iterations=5000" in example
    exec(compile(example.replace("max_iterations=5000", "max_iterations=20"), "README.md", "exec"), {})
    assert (tmp_path / "ring.ckpt").exists()
