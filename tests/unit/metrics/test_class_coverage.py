import math

import pytest
import torch
from torch import nn

from lightning_gan.metrics import ClassCoverage
from lightning_gan.metrics.class_coverage import coverage_from_class_counts, inception_score


class Lookup(nn.Module):
    """A 'classifier' whose logits are the first C input values."""

    def forward(self, x):
        return x.flatten(1)[:, :3]


def test_closed_forms():
    collapsed = coverage_from_class_counts(torch.tensor([0, 7, 0]), torch.tensor(7.0))
    assert collapsed["classes"] == 1 and collapsed["class_kl"].item() == pytest.approx(math.log(3))
    uniform = coverage_from_class_counts(torch.tensor([4, 4, 4]), torch.tensor(6.0))
    assert uniform["classes"] == 3 and uniform["class_kl"].item() == pytest.approx(0.0)
    assert uniform["confidence"].item() == pytest.approx(0.5)
    with pytest.raises(ValueError) as raised:
        coverage_from_class_counts(torch.zeros(3, dtype=torch.long), torch.tensor(0.0))
    assert str(raised.value) == "class coverage needs at least one generated sample, got none"


def test_metric_classifies_and_accumulates():
    metric = ClassCoverage(Lookup(), num_classes=3)
    big = 20.0  # softmax ≈ one-hot: confidence ≈ 1
    metric.update(torch.tensor([[big, 0, 0], [big, 0, 0]]))
    metric.update(torch.tensor([[0, big, 0], [0.0, 0.0, 0.0]]))  # the last one: uniform, confidence 1/3
    result = metric.compute()
    assert result["classes"] == 2  # argmax of the all-zero row is class 0
    p = torch.tensor([3 / 4, 1 / 4])
    assert result["class_kl"].item() == pytest.approx((p * torch.log(3 * p)).sum().item())
    assert result["confidence"].item() == pytest.approx((3 * 1.0 + 1 / 3) / 4, abs=1e-6)
    assert metric.state_dict() == {}


def test_inception_score_closed_forms():
    C = 4
    spread = torch.eye(C).repeat(5, 1)  # confident predictions spread evenly: IS = C
    assert inception_score(
        spread.sum(0), torch.special.xlogy(spread, spread).sum(), 20
    ).item() == pytest.approx(C)
    same = torch.eye(C)[[2] * 8]  # every sample the same confident class: IS = 1
    assert inception_score(same.sum(0), torch.special.xlogy(same, same).sum(), 8).item() == pytest.approx(1.0)
    unsure = torch.full((6, C), 1 / C)  # uniform predictions: IS = 1
    assert inception_score(unsure.sum(0), (unsure * unsure.log()).sum(), 6).item() == pytest.approx(1.0)
    # Against the definition exp(mean_x KL(p(y|x) || p(y))) on random predictions.
    p = torch.rand(50, C, dtype=torch.float64).softmax(1)
    marginal = p.mean(0)
    reference = torch.exp((p * (p.log() - marginal.log())).sum(1).mean())
    assert inception_score(p.sum(0), (p * p.log()).sum(), 50).item() == pytest.approx(
        reference.item(), rel=1e-12
    )


def test_metric_reports_the_inception_score_of_what_it_classified():
    metric = ClassCoverage(Lookup(), num_classes=3)
    logits = torch.randn(30, 3, dtype=torch.float64)
    metric.update(logits[:10])
    metric.update(logits[10:])
    p = logits.softmax(1)
    reference = torch.exp((p * (p.log() - p.mean(0).log())).sum(1).mean())
    assert metric.compute()["inception_score"].item() == pytest.approx(reference.item(), rel=1e-9)


def test_two_ranks_sum_their_sums_to_the_metric_on_all_samples():
    from tests.unit.metrics.test_mode_coverage import rank0_of_two

    torch.manual_seed(0)
    mine, theirs = torch.randn(5, 3) * 4, torch.randn(7, 3) * 4
    rank1, whole = ClassCoverage(Lookup(), num_classes=3), ClassCoverage(Lookup(), num_classes=3)
    rank1.update(theirs)
    whole.update(torch.cat([mine, theirs]))
    rank0 = ClassCoverage(Lookup(), num_classes=3, **rank0_of_two(rank1))
    rank0.update(mine)
    got, expected = rank0.compute(), whole.compute()
    assert {k: float(v) for k, v in got.items()} == pytest.approx({k: float(v) for k, v in expected.items()})
    assert rank0.counts.dtype == torch.long
    assert (
        rank0.confidence_sum.dtype
        == rank0.probability_sum.dtype
        == rank0.negentropy_sum.dtype
        == torch.float64
    )
    classifier = nn.Linear(3, 3)
    assert not any(p.requires_grad for p in ClassCoverage(classifier, num_classes=3).classifier.parameters())
