import torch
from torchmetrics import MeanMetric

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
