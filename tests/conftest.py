import os

import pytest

# No network in tests: W&B writes offline runs, and its background service stays quiet.
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
os.environ.setdefault("WANDB_DISABLE_GIT", "true")


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path, monkeypatch):
    """Each test runs in its own directory, so runs/ and lightning_logs/ never leak."""
    monkeypatch.chdir(tmp_path)
