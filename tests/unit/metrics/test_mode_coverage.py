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
