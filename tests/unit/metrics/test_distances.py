import pytest
import torch
from torch import nn

from lightning_gan.metrics import FeatureDistance, FrozenFeatures


class Counting(nn.Module):
    """Identity features that count the rows they were given."""

    def __init__(self):
        super().__init__()
        self.rows = 0

    def forward(self, x):
        self.rows += x.shape[0]
        return x


def identity_features(dim: int) -> FrozenFeatures:
    return FrozenFeatures(Counting(), dim)


def test_frechet_distance_matches_the_gaussian_closed_form():
    # FD(N(μ₁, σ₁²I), N(μ₂, σ₂²I)) = ‖μ₁ − μ₂‖² + d(σ₁ − σ₂)² in d dimensions.
    torch.manual_seed(0)
    d, n = 4, 40_000
    reference = torch.randn(n, d)
    generated = 0.5 * torch.randn(n, d) + torch.tensor([1.0, 0.0, -1.0, 0.5])
    metric = FeatureDistance(
        identity_features(d), reference, n_generated=n, kid_subset_size=1000, kid_subsets=10
    )
    metric.update(generated)
    expected = (1 + 0 + 1 + 0.25) + d * 0.5**2
    assert metric.compute()["fd"].item() == pytest.approx(expected, rel=0.02)


def test_kernel_distance_is_near_zero_for_the_same_distribution_and_positive_otherwise():
    torch.manual_seed(0)
    reference = torch.randn(2000, 3)
    same = FeatureDistance(identity_features(3), reference, n_generated=2000, kid_subset_size=500)
    same.update(torch.randn(2000, 3))
    result = same.compute()
    assert abs(result["kid"].item()) < 3 * result["kid_std"].item() + 1e-3
    shifted = FeatureDistance(identity_features(3), reference, n_generated=2000, kid_subset_size=500)
    shifted.update(torch.randn(2000, 3) + 1)
    assert shifted.compute()["kid"].item() > 10 * result["kid_std"].item()


def test_reference_statistics_are_computed_once_and_kept_across_resets():
    features = identity_features(2)
    metric = FeatureDistance(features, torch.randn(300, 2), n_generated=50, kid_subset_size=50)
    for _ in range(2):  # two validations
        metric.update(torch.randn(50, 2))
        metric.compute()
        metric.reset()
    # One extraction feeds FD and KID: the 300 reference rows once, then 2 × 50 generated rows.
    assert features.network.rows == 300 + 2 * 50
    assert metric.state_dict() == {}  # no weights and no statistics in checkpoints


def test_kid_subset_size_is_checked_early():
    with pytest.raises(ValueError, match=r"kid_subset_size must be in \[2, .*= \[2, 50\], got 100"):
        FeatureDistance(identity_features(2), torch.randn(300, 2), n_generated=50, kid_subset_size=100)


def test_kid_subsets_are_reproducible_and_leave_the_random_stream_alone():
    reference = torch.randn(300, 2)
    torch.manual_seed(7)
    expected_stream = torch.rand(3)
    values = []
    for _ in range(2):
        metric = FeatureDistance(identity_features(2), reference, n_generated=100, kid_subset_size=50)
        metric.update(reference[:100] + 0.5)
        torch.manual_seed(7)
        values.append(metric.compute()["kid"])
        assert torch.equal(torch.rand(3), expected_stream)  # compute drew nothing from the global stream
    assert torch.equal(values[0], values[1])


def test_fd_and_kid_equal_torchmetrics_fed_by_the_extractor_itself():
    """Sharing one extraction changes no value: torchmetrics' FID and KID calling the extractor agree."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    from lightning_gan.rng import seeded_fork

    torch.manual_seed(0)
    reference, generated = torch.randn(200, 3), torch.randn(100, 3) + 0.3
    metric = FeatureDistance(identity_features(3), reference, n_generated=100, kid_subset_size=50)
    metric.update(generated[:60])
    metric.update(generated[60:])
    shared = metric.compute()
    fid = FrechetInceptionDistance(feature=identity_features(3))
    kid = KernelInceptionDistance(feature=identity_features(3), subsets=50, subset_size=50)
    for m in (fid, kid):
        m.update(reference, real=True)
        m.update(generated, real=False)
    with seeded_fork(1234, torch.device("cpu")):
        kid_mean, kid_std = kid.compute()
    torch.testing.assert_close(shared["fd"], fid.compute())
    torch.testing.assert_close((shared["kid"], shared["kid_std"]), (kid_mean, kid_std))


def test_settings_are_checked_with_their_accepted_ranges():
    with pytest.raises(ValueError) as raised:
        FeatureDistance(nn.Identity(), torch.randn(10, 2), n_generated=10)
    assert str(raised.value) == "features (Identity) must expose an integer num_features"
    with pytest.raises(ValueError) as raised:
        FeatureDistance(identity_features(2), torch.randn(30, 2), n_generated=40, kid_subset_size=1)
    assert str(raised.value) == (
        "kid_subset_size must be in [2, min(reference samples, generated samples)] = [2, 30], got 1 "
        "(30 reference, 40 generated per evaluation)"
    )
    smallest = FeatureDistance(identity_features(2), torch.randn(30, 2), n_generated=40, kid_subset_size=2)
    assert smallest.kid.subset_size == 2
    defaults = FeatureDistance(identity_features(2), torch.randn(300, 2), n_generated=200)
    assert (defaults.kid.subset_size, defaults.kid.subsets, defaults.batch_size) == (100, 50, 256)
