"""Multi-process training on CPU (gloo): every run is a subprocess, as DDP must not start inside pytest."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lightning.pytorch.strategies import DeepSpeedStrategy, FSDPStrategy

from lightning_gan.cli import GANCLI, default_config
from lightning_gan.distributed import GANDDPStrategy
from tests.helpers import REPO, inspect_wandb_run, quiet_trainer, tiny_gan, tiny_mixture

SCRIPT = REPO / "tests" / "integration" / "scripts" / "train_ddp.py"
ENV = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}


def train(out: Path, *args: str) -> dict[int, dict]:
    """Run tests/integration/scripts/train_ddp.py with ``args``; return each rank's saved record by rank."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {int(p.stem[4:]): torch.load(p) for p in sorted(out.glob("rank*.pt"))}


def assert_equal_states(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    tensors = {key for key in a if isinstance(a[key], torch.Tensor)}  # the rest: extra state (ADA's count)
    different = [k for k in a if not (torch.equal(a[k], b[k]) if k in tensors else a[k] == b[k])]
    assert not different, f"differ across ranks: {different}"


def max_difference(a: dict, b: dict) -> float:
    return max((a[key].double() - b[key].double()).abs().max().item() for key in a)


def row_set(rows: torch.Tensor) -> set[tuple[float, ...]]:
    return set(map(tuple, rows.tolist()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("name", "start_method"),
    [
        ("gan_ddp", "popen"),
        ("gan_ddp_spawn", "spawn"),
        ("gan_ddp_fork", "fork"),
        ("gan_ddp_notebook", "fork"),
    ],
)
def test_registered_names_build_the_per_network_strategy(name, start_method):
    strategy = quiet_trainer(strategy=name, devices=1).strategy
    assert type(strategy) is GANDDPStrategy
    assert GANDDPStrategy.START_METHODS[name] == start_method


def test_ddp_keyword_arguments_reach_each_wrapper():
    strategy = GANDDPStrategy(static_graph=True, gradient_as_bucket_view=True, timeout=None)
    assert strategy.ddp_kwargs == {"static_graph": True, "gradient_as_bucket_view": True}


def test_a_whole_module_ddp_fit_stops_with_an_error_that_names_gan_ddp(monkeypatch):
    for name in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "NODE_RANK"):
        monkeypatch.delenv(name, raising=False)  # Lightning sets them in this process; undone afterwards
    trainer = quiet_trainer(strategy="ddp", devices=1, max_steps=2, limit_val_batches=0)
    try:
        with pytest.raises(ValueError, match=r"use strategy='gan_ddp'.*'ddp_find_unused_parameters_true'"):
            trainer.fit(tiny_gan(), tiny_mixture())
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()  # free the rendezvous port for later tests


@pytest.mark.parametrize(
    ("given", "used"), [("ddp", "gan_ddp"), ("ddp_spawn", "gan_ddp_spawn"), ("auto", "auto")]
)
def test_the_cli_maps_plain_ddp_to_the_per_network_strategy(given, used):
    cli = GANCLI(
        ["--config", str(default_config()), f"--trainer.strategy={given}", "--trainer.devices=1"], run=False
    )
    assert cli.config.trainer.strategy == used
    assert (type(cli.trainer.strategy) is GANDDPStrategy) == (used != "auto")


@pytest.mark.parametrize("strategy", [FSDPStrategy, DeepSpeedStrategy])
def test_sharded_strategies_are_rejected_at_setup(strategy):
    trainer = quiet_trainer(max_steps=1)
    # Built without __init__: FSDP needs a GPU and DeepSpeed its package, neither of which CI has.
    trainer._accelerator_connector.strategy = strategy.__new__(strategy)
    gan = tiny_gan()
    gan.trainer = trainer
    with pytest.raises(ValueError, match=rf"{strategy.__name__} is not supported.*automatic optimization"):
        gan.setup("fit")


@pytest.mark.slow
def test_plain_ddp_uses_one_wrapper_per_network_and_keeps_ranks_equal(tmp_path):
    ranks = train(tmp_path, "--strategy", "gan_ddp", "--ema", "--r1-every", "2", "--val-every", "8")
    assert sorted(ranks) == [0, 1]
    zero, one = ranks[0], ranks[1]
    assert zero["strategy"] == "GANDDPStrategy" and zero["world_size"] == 2
    assert any(key.startswith("generator_ema.") for key in zero["state"])
    assert_equal_states(zero["state"], one["state"])  # G, D and G_ema, bitwise
    assert zero["rows"].shape == (12 * 32, 2)  # 12 iterations of 32 rows per rank
    assert not row_set(zero["rows"]) & row_set(one["rows"])  # disjoint shards of the data
    # Seeded alike, the ranks still draw their own latents: the global fake batch has no copies.
    assert not torch.equal(zero["first_latents"], one["first_latents"])
    # Validation ran on both ranks and its synced values agree (the values themselves: test_module).
    assert len(zero["val"]) >= 1 and zero["val"] == one["val"]


@pytest.mark.slow
@pytest.mark.parametrize("accumulate", [1, 2])
def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path, accumulate):
    # Same rows and latents split over two ranks: DDP's averaged gradient of per-rank means is the
    # gradient of the global mean, so only float summation order separates the runs.
    common = ["--sequential", "--global-noise", "--accumulate", str(accumulate), "--r1-every", "2"]
    two = train(tmp_path / "two", *common, "--batch-size", "16")
    one = train(tmp_path / "one", *common, "--devices", "1", "--strategy", "auto", "--batch-size", "32")
    assert two[0]["world_size"] == 2 and one[0]["world_size"] == 1
    assert_equal_states(two[0]["state"], two[1]["state"])
    # Gradients are all-reduced once per update, not once per micro-batch (12 iterations).
    assert two[0]["syncs"] == {"generator": 12, "discriminator": 12}
    assert max_difference(two[0]["state"], one[0]["state"]) <= 1e-5
    assert row_set(torch.cat([two[0]["rows"], two[1]["rows"]])) == row_set(one[0]["rows"])


@pytest.mark.slow
def test_compiled_networks_under_per_network_ddp_match_eager(tmp_path):
    """``GAN(compile=...)`` compiles each DDP wrapper; syncs stay once per update, R1 runs eager."""
    common = ["--sequential", "--global-noise", "--accumulate", "2", "--r1-every", "2", "--ema"]
    compiled = train(tmp_path / "compiled", *common, "--compile")
    eager = train(tmp_path / "eager", *common)
    assert_equal_states(compiled[0]["state"], compiled[1]["state"])
    assert compiled[0]["syncs"] == eager[0]["syncs"] == {"generator": 12, "discriminator": 12}
    assert max_difference(compiled[0]["state"], eager[0]["state"]) <= 1e-5


@pytest.mark.slow
def test_per_network_wrappers_match_find_unused_parameters_bitwise(tmp_path):
    common = ["--sequential", "--global-noise", "--r1-every", "3"]
    per_network = train(tmp_path / "gan_ddp", *common, "--strategy", "gan_ddp")
    whole = train(tmp_path / "find_unused", *common, "--strategy", "ddp_find_unused_parameters_true")
    assert whole[0]["strategy"] == "DDPStrategy"
    assert_equal_states(per_network[0]["state"], whole[0]["state"])


@pytest.mark.slow
def test_batchnorm_in_both_nets_keeps_ranks_equal_and_digits_metrics_sync(tmp_path):
    # DCGAN nets: BatchNorm in G and D, D called separately on reals and fakes. Buffers are
    # averaged over ranks before validation and at the end, so running statistics agree too.
    # With ADA: each rank's r_t sums are added over both before p moves, so p stays equal too.
    ranks = train(tmp_path, "--net", "dcgan", "--ema", "--iterations", "5", "--val-every", "5", "--ada")
    assert any("running_mean" in key for key in ranks[0]["state"])
    assert_equal_states(ranks[0]["state"], ranks[1]["state"])
    # p starts at 0.5 and moves by ±(2 ranks × 32 reals) / 6400 in each of 5 D updates: an odd number of
    # 0.01 steps (with one rank's sums alone, ±0.005 steps would leave it a half-integer number).
    steps = (ranks[0]["state"]["augment.p"].item() - 0.5) / 0.01
    assert steps != 0 and steps == pytest.approx(round(steps), abs=1e-3)
    # The digits FD/KID and class coverage were computed over both ranks' shards and agree.
    last = ranks[0]["val"][-1]
    assert {"val/fd", "val/kid", "val/classes", "val/class_kl"} <= last.keys()
    assert ranks[0]["val"] == ranks[1]["val"] and last["val/fd"] > 0


@pytest.mark.slow
def test_two_nodes_on_localhost_through_torchrun(tmp_path):
    port = str(free_port())
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1"]
    command += ["--master_addr=127.0.0.1", f"--master_port={port}"]
    script = [str(SCRIPT), "--out", str(tmp_path), "--devices", "1", "--num-nodes", "2"]
    nodes = [
        subprocess.Popen(
            [*command, f"--node_rank={rank}", *script], env=ENV, stderr=subprocess.PIPE, text=True
        )
        for rank in (0, 1)
    ]
    errors = [node.communicate(timeout=240)[1] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], errors[0][-2000:] + errors[1][-2000:]
    ranks = {int(p.stem[4:]): torch.load(p) for p in tmp_path.glob("rank*.pt")}
    assert sorted(ranks) == [0, 1] and ranks[0]["world_size"] == 2
    assert_equal_states(ranks[0]["state"], ranks[1]["state"])
    assert not row_set(ranks[0]["rows"]) & row_set(ranks[1]["rows"])


@pytest.mark.slow
def test_cli_ddp_run_writes_one_wandb_run_and_one_image_per_grid(tmp_path):
    args = [
        "lightning-gan",
        "fit",
        "--trainer.devices=2",
        "--trainer.strategy=ddp",
        "--model.init_args.max_iterations=40",
        "--trainer.val_check_interval=20",
        "--trainer.log_every_n_steps=10",
        "--data.init_args.n_samples=4096",
        "--trainer.enable_progress_bar=false",
    ]
    result = subprocess.run(args, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sync_dist" not in result.stderr  # evaluation values are logged as already synced
    run_dirs = list((tmp_path / "runs" / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 1
    images = sorted(
        p.name for p in (run_dirs[0] / "files" / "media" / "images" / "val").glob("samples_*.png")
    )
    assert len(images) == 2, images  # one grid per validation, from rank 0 only
    summary = inspect_wandb_run(run_dirs[0])["summary"]
    assert summary["iteration"] == 40 and summary["trainer/global_step"] == 80 and "val/modes" in summary
    folders = list((tmp_path / "runs" / "lightning_gan").iterdir())
    assert len(folders) == 1
    assert sorted(p.name for p in (folders[0] / "samples").glob("*.png")) == [
        "iter_0000020.png",
        "iter_0000040.png",
    ]


@pytest.mark.slow
def test_two_process_resume_mid_accumulation_is_bitwise_exact(tmp_path):
    options = ["--iterations", "16", "--accumulate", "2", "--ema", "--r1-every", "2"]
    straight = train(tmp_path / "straight", *options, "--save-at", "6")
    checkpoint = torch.load(tmp_path / "straight" / "mid.ckpt", weights_only=False)
    assert (
        checkpoint["gan_state"]["clock"]["iteration"] == 6
        and checkpoint["gan_state"]["clock"]["micro_batch"] == 1
    )
    ranks = checkpoint["rank_states"]
    assert len(ranks) == 2 and not torch.equal(ranks[0]["rng"]["torch"], ranks[1]["rng"]["torch"])
    assert not torch.equal(ranks[0]["d_grads"][0], ranks[1]["d_grads"][0])  # each rank's own partial sum
    resumed = train(tmp_path / "resumed", *options, "--resume", str(tmp_path / "straight" / "mid.ckpt"))
    for rank in (0, 1):
        assert_equal_states(straight[rank]["state"], resumed[rank]["state"])
    # The resumed ranks read exactly the rows the uninterrupted ranks read after the checkpoint.
    for rank in (0, 1):
        rows = resumed[rank]["rows"]
        assert torch.equal(straight[rank]["rows"][-len(rows) :], rows)
