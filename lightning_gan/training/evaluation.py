"""What a validation measures: D's mean probability on reals and fakes, and the data's sample metrics."""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, Metric

from lightning_gan.metrics.features import FrozenFeatures


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """``module`` in eval mode inside the context; its mode before is restored after."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


class Evaluation(nn.Module):
    """Validation (or test) accumulators, synced across ranks by torchmetrics.

    ``d_real`` and ``d_fake`` are the mean of ``sigmoid(D(x))`` over held-out reals and over as many
    generated samples; ``measures`` are the datamodule's sample metrics (e.g. mode coverage, FID),
    fed G's samples. Metrics built on one :class:`~lightning_gan.metrics.FrozenFeatures` object (their
    ``features``) share its extraction: each batch goes through it once. Their states are not part
    of the model's ``state_dict``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.d_real, self.d_fake = MeanMetric(), MeanMetric()
        self.measures = nn.ModuleDict()

    def add_measures(self, make: Callable[[], Mapping[str, Metric]] | None) -> None:
        """Add the datamodule's ``val_metrics()`` once (nothing when ``make`` is not callable)."""
        if callable(make) and not len(self.measures):
            self.measures.update(make())

    def update(self, real_logits: Tensor, fake_logits: Tensor, fake: Tensor) -> None:
        """Add one batch: D's ``(N,)`` logits on reals and fakes, and the ``(N, *sample_shape)`` fakes."""
        self.d_real.update(torch.sigmoid(real_logits))
        self.d_fake.update(torch.sigmoid(fake_logits))
        extracted: dict[int, Tensor] = {}  # one extraction per feature extractor, shared by its metrics
        for metric in self.measures.values():
            extractor = getattr(metric, "features", None)
            if not isinstance(extractor, FrozenFeatures):
                metric.update(fake)
                continue
            if id(extractor) not in extracted:
                extracted[id(extractor)] = extractor(fake)
            metric.update(fake, features=extracted[id(extractor)])

    def compute(self, prefix: str) -> dict[str, Tensor]:
        """Every value as ``<prefix>/<name>``; the accumulators are reset."""
        values = {f"{prefix}/d_real": self.d_real.compute(), f"{prefix}/d_fake": self.d_fake.compute()}
        for metric in self.measures.values():
            values |= {f"{prefix}/{key}": value for key, value in metric.compute().items()}
        for metric in (self.d_real, self.d_fake, *self.measures.values()):
            metric.reset()
        return values
