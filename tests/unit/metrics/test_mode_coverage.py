import math

import pytest
import torch

from lightning_gan.data.mixture import mixture_centers
from lightning_gan.metrics import ModeCoverage, mode_coverage

CENTERS = mixture_centers("grid", 25, 2.0)
STD = 0.05


def at_centers(per_mode: int) -> torch.Tensor:
    return CENTERS.repeat_interleave(per_mode, dim=0) + 0.01


def test_all_modes_perfectly_covered():
    r = mode_coverage(at_centers(4), CENTERS, STD)
    assert r["modes"] == 25 and r["high_quality"] == 1.0
    assert r["reverse_kl"].item() == pytest.approx(0.0, abs=1e-12)


def test_one_mode():
    r = mode_coverage(CENTERS[7].expand(100, 2).clone(), CENTERS, STD)
    assert r["modes"] == 1 and r["high_quality"] == 1.0
    assert r["reverse_kl"].item() == pytest.approx(math.log(25))  # KL(δ ‖ U) = log M


def test_all_off_mode():
    midpoints = CENTERS + 1.0  # halfway between grid neighbours, 1.41 ≫ 3σ from any center
    r = mode_coverage(midpoints, CENTERS, STD)
    assert r["modes"] == 0 and r["high_quality"] == 0.0


def test_three_sigma_boundary_and_reverse_kl_closed_form():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    samples = torch.tensor([[0.149, 0.0], [0.151, 0.0], [10.0, 0.0], [10.0, 0.1]])  # 3σ = 0.15
    r = mode_coverage(samples, centers, std=0.05)
    assert r["modes"] == 2 and r["high_quality"] == pytest.approx(3 / 4)
    assert r["reverse_kl"].item() == pytest.approx(0.0)  # 2 and 2: balanced
    skewed = mode_coverage(torch.tensor([[0.0, 0.0]] * 3 + [[10.0, 0.0]]), centers, 0.05)
    p = torch.tensor([0.75, 0.25])
    assert skewed["reverse_kl"].item() == pytest.approx(float((p * torch.log(p * 2)).sum()))


def test_metric_accumulates_like_the_function():
    samples = torch.cat([at_centers(3), torch.randn(50, 2) * 3])
    metric = ModeCoverage(CENTERS, STD)
    for chunk in samples.split(17):
        metric.update(chunk)
    expected = mode_coverage(samples, CENTERS, STD)
    got = metric.compute()
    assert {k: float(v) for k, v in got.items()} == pytest.approx({k: float(v) for k, v in expected.items()})
    assert "counts" not in metric.state_dict()  # metric state stays out of checkpoints


@pytest.mark.parametrize("samples", [torch.zeros(0, 2), torch.zeros(5, 3)])
def test_bad_batches(samples):
    with pytest.raises(ValueError, match="mode coverage needs a non-empty"):
        mode_coverage(samples, CENTERS, STD)


def test_bad_std():
    with pytest.raises(ValueError, match="std must be > 0"):
        ModeCoverage(CENTERS, 0.0)


def rank0_of_two(other):
    """torchmetrics' own sync options for rank 0 of two processes whose rank 1 is ``other`` (gather faked)."""

    def gather(tensor, group=None):
        states = gather.queue or [getattr(other, name) for name in other.metric_state]  # add_state order
        gather.queue = states[1:]
        return [tensor, states[0]]

    gather.queue = []
    return {"dist_sync_fn": gather, "distributed_available_fn": lambda: True}


def test_two_ranks_sum_their_counts_to_the_function_on_all_samples():
    mine, theirs = at_centers(2)[:30], torch.cat([at_centers(1)[20:], torch.randn(40, 2) * 3])
    rank1 = ModeCoverage(CENTERS, STD)
    rank1.update(theirs)
    rank0 = ModeCoverage(CENTERS, STD, **rank0_of_two(rank1))
    rank0.update(mine)
    got = rank0.compute()
    expected = mode_coverage(torch.cat([mine, theirs]), CENTERS, STD)
    assert {k: float(v) for k, v in got.items()} == pytest.approx({k: float(v) for k, v in expected.items()})
    assert rank0.counts.dtype == rank0.hq_counts.dtype == torch.long  # exact counts at any sample size


def test_centers_are_float32_buffers_outside_the_state_dict():
    metric = ModeCoverage(CENTERS.double(), STD)
    assert metric.centers.dtype == torch.float32 and "centers" not in metric.state_dict()


def test_exactly_three_sigma_counts_as_high_quality_and_std_must_be_positive():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    at_the_edge = torch.tensor([[0.75, 0.0], [0.0, -0.7500001]])  # 3σ = 0.75, exact in binary
    assert mode_coverage(at_the_edge, centers, std=0.25)["high_quality"] == 0.5
    for std in (0.0, -1.0):
        with pytest.raises(ValueError) as raised:
            mode_coverage(at_the_edge, centers, std)
        assert str(raised.value) == f"std must be > 0, got {std}"
