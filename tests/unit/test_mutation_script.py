"""scripts/mutation.py: its config rewriting and equivalents list, and one real run on one small module."""

import importlib.util
import subprocess
import sys

import pytest

from tests.helpers import REPO

spec = importlib.util.spec_from_file_location("mutation", REPO / "scripts" / "mutation.py")
mutation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutation)
tomllib = mutation.tomllib


def test_the_narrowed_config_keeps_every_other_setting():
    narrowed = tomllib.loads(
        mutation.config_text(["lightning_gan/ema.py"], ["tests/integration/test_ema.py"])
    )
    full = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert narrowed["tool"]["mutmut"] == full["tool"]["mutmut"] | {
        "only_mutate": ["lightning_gan/ema.py"],
        "pytest_add_cli_args_test_selection": ["tests/integration/test_ema.py"],
    }
    assert narrowed["project"] == full["project"]
    assert tomllib.loads(mutation.config_text([], []))["tool"]["mutmut"] == full["tool"]["mutmut"]


def test_the_equivalents_file_reads_as_name_and_reason(tmp_path):
    listed = tmp_path / "equivalent.txt"
    listed.write_text(
        "# a comment\n\nmod.x_f__mutmut_1 device is the default on CPU\nmod.x_g__mutmut_2 same\n"
    )
    assert mutation.equivalents(listed) == {
        "mod.x_f__mutmut_1": "device is the default on CPU",
        "mod.x_g__mutmut_2": "same",
    }
    for name, reason in mutation.equivalents().items():  # the shipped list
        assert name.startswith("lightning_gan.") and "__mutmut_" in name and reason, name


@pytest.mark.slow
def test_a_run_on_the_losses_reports_its_score_as_the_last_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "scripts/mutation.py",
            "--paths",
            "lightning_gan/losses.py",
            "--tests",
            "tests/unit/test_losses.py",
            "--workdir",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = done.stdout.strip().splitlines()
    killed, total = (int(word) for word in lines[-1].split()[1::2])
    assert lines[-1] == f"killed {killed} of {total}" and total > 40, done.stderr[-2000:]
    assert ["lightning_gan.losses", str(killed), str(total)] in [line.split() for line in lines]
    survivors = [line for line in lines if line.startswith("not killed")]
    assert done.returncode == (0 if not survivors and killed >= 0.9 * total else 1)


def test_survivors_needs_a_previous_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "scripts/mutation.py", "--survivors", "--workdir", str(tmp_path / "none")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"mutation.py: --survivors needs a previous run in {tmp_path / 'none'}"
