"""Class coverage of generated samples, scored by a classifier (the Stacked-MNIST mode measure)."""

import torch
from torch import Tensor, nn
from torchmetrics import Metric


def coverage_from_class_counts(counts: Tensor, confidence_sum: Tensor) -> dict[str, Tensor]:
    """Summarise how generated samples spread over the classes.

    ``classes = #{c : n_c ≥ 1}``; ``class_kl = KL(p̂ ‖ U) = Σ_c p̂_c log(C p̂_c)`` with ``p̂_c = n_c / Σ n``
    (0 for a uniform spread, ``log C`` when every sample is one class); ``confidence`` = mean of the
    classifier's top softmax probability.

    Args:
        counts: ``(C,)`` samples per predicted class.
        confidence_sum: Sum of the top probabilities over the same samples.

    Returns:
        ``classes``, ``class_kl`` (nats) and ``confidence``, float64.

    Raises:
        ValueError: If no sample was counted.
    """
    total = counts.sum().double()
    if total == 0:
        raise ValueError("class coverage needs at least one generated sample, got none")
    p = counts.double() / total
    kl = torch.where(p > 0, p * torch.log(p * counts.shape[0]), torch.zeros_like(p)).sum()
    return {
        "classes": (counts > 0).sum().double(),
        "class_kl": kl,
        "confidence": confidence_sum.double() / total,
    }


class ClassCoverage(Metric):
    """Classify generated samples; report classes covered, KL of the class histogram to uniform, confidence.

    Args:
        classifier: Maps ``(N, ...)`` samples in ``[-1, 1]`` to ``(N, C)`` logits (held outside the
            module tree: it never enters checkpoints), e.g.
            :func:`~lightning_gan.metrics.digits_classifier.load_digits_classifier`.
        num_classes: ``C``.
    """

    full_state_update = False
    higher_is_better = None

    def __init__(self, classifier: nn.Module, num_classes: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.__dict__["classifier"] = classifier.eval().requires_grad_(False)
        self.num_classes = num_classes
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("confidence_sum", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    @torch.no_grad()
    def update(self, samples: Tensor) -> None:
        """Classify a batch of ``(N, ...)`` generated samples."""
        first = next(self.classifier.parameters(), None)
        if first is not None and first.device != samples.device:
            self.classifier.to(samples.device)
        probabilities = self.classifier(samples).double().softmax(dim=1)
        if probabilities.shape[1] != self.num_classes:
            raise ValueError(
                f"classifier gives {probabilities.shape[1]} classes, expected {self.num_classes}"
            )
        confidence, predicted = probabilities.max(dim=1)
        self.counts += torch.bincount(predicted, minlength=self.num_classes)
        self.confidence_sum += confidence.sum()

    def compute(self) -> dict[str, Tensor]:
        """``classes``, ``class_kl`` and ``confidence`` over everything since the last reset."""
        return coverage_from_class_counts(self.counts, self.confidence_sum)
