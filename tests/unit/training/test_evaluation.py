import torch
from torch import nn
from torchmetrics import MeanMetric

from lightning_gan.metrics import ClassCoverage, FeatureDistance, FrozenFeatures
from lightning_gan.training.evaluation import Evaluation


class Count(MeanMetric):
    def update(self, samples):
        super().update(torch.tensor(float(samples.shape[0])))

    def compute(self):
        return {"batch": super().compute()}


def test_mean_probabilities_and_measures_equal_a_direct_computation_and_reset():
    evaluation = Evaluation()
    evaluation.add_measures(lambda: {"count": Count()})
    evaluation.add_measures(lambda: {"other": Count()})  # only the first call adds
    real = [torch.tensor([0.0, 2.0]), torch.tensor([-1.0])]
    fake = [torch.tensor([1.0, -3.0]), torch.tensor([4.0])]
    for r, f in zip(real, fake, strict=True):
        evaluation.update(r, f, torch.zeros(len(f), 2))
    values = evaluation.compute("val")
    assert set(values) == {"val/d_real", "val/d_fake", "val/batch"}
    assert torch.allclose(values["val/d_real"], torch.sigmoid(torch.cat(real)).mean())
    assert torch.allclose(values["val/d_fake"], torch.sigmoid(torch.cat(fake)).mean())
    assert values["val/batch"] == 1.5
    evaluation.update(torch.tensor([0.0]), torch.tensor([0.0]), torch.zeros(4, 2))
    again = evaluation.compute("test")
    assert again["test/d_real"] == 0.5 and again["test/batch"] == 4


def test_no_state_in_the_model_checkpoint():
    evaluation = Evaluation()
    evaluation.add_measures(lambda: {"count": Count()})
    assert evaluation.state_dict() == {}


class CountingBody(nn.Module):
    """A classifier body: ``(N, 2)`` → ``(N, 4)`` features, counting the rows it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.rows = nn.Linear(2, 4), 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rows += x.shape[0]
        return torch.relu(self.linear(x))


def test_metrics_on_one_extractor_share_one_extraction_per_batch():
    """FD, KID and the class scores from one pass of the extractor, with the values of separate passes."""
    torch.manual_seed(0)
    body, head = CountingBody(), nn.Linear(4, 3)
    features = FrozenFeatures(body, 4)
    evaluation = Evaluation()
    reference = torch.randn(64, 2)
    evaluation.add_measures(
        lambda: {
            "distance": FeatureDistance(features, reference, n_generated=40, kid_subset_size=20),
            "classes": ClassCoverage(head, 3, features=features),
        }
    )
    fakes = [torch.randn(20, 2), torch.randn(20, 2)]
    for fake in fakes:
        evaluation.update(torch.zeros(20), torch.zeros(20), fake)
    shared = evaluation.compute("val")
    assert body.rows == 64 + 40  # the reference once, each generated batch once

    separate_distance = FeatureDistance(FrozenFeatures(body, 4), reference, 40, kid_subset_size=20)
    separate_classes = ClassCoverage(nn.Sequential(body, head), 3)  # the whole classifier on samples
    for fake in fakes:
        separate_distance.update(fake)
        separate_classes.update(fake)
    separate = separate_distance.compute() | separate_classes.compute()
    assert set(separate) == {key.removeprefix("val/") for key in shared} - {"d_real", "d_fake"}
    for key, value in separate.items():
        torch.testing.assert_close(shared[f"val/{key}"], value, rtol=1e-12, atol=1e-12)


class Sizes(MeanMetric):
    """Mean batch size under its own name."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def update(self, samples):
        super().update(torch.tensor(float(samples.shape[0])))

    def compute(self):
        return {self.name: super().compute()}


def test_every_measure_sees_every_batch_whatever_its_place():
    evaluation = Evaluation()
    evaluation.add_measures(lambda: {"first": Sizes("a"), "second": Sizes("b"), "third": Sizes("c")})
    evaluation.update(torch.zeros(3), torch.zeros(3), torch.zeros(3, 2))
    evaluation.update(torch.zeros(5), torch.zeros(5), torch.zeros(5, 2))
    values = evaluation.compute("val")
    assert [float(values[f"val/{name}"]) for name in "abc"] == [4.0, 4.0, 4.0]
