"""Class coverage of generated samples, scored by a classifier (the Stacked-MNIST mode measure)."""

import torch
from torch import Tensor, nn
from torchmetrics import Metric


def inception_score(probability_sum: Tensor, negentropy_sum: Tensor, n: int | Tensor) -> Tensor:
    """Inception Score of ``n`` samples from running sums of the classifier's class probabilities.

    ``IS = exp(E_x KL(p(y|x) ‖ p(y)))`` with ``p(y) = E_x p(y|x)``; since
    ``E_x Σ_y p(y|x) log p(y) = Σ_y p(y) log p(y)``, this is
    ``exp(E_x Σ_y p(y|x) log p(y|x) − Σ_y p(y) log p(y))``: 1 when every sample gets the same
    prediction (or every prediction is uniform), ``C`` for confident predictions spread evenly.
    One split over all samples (the original reports the mean over 10 splits).

    Args:
        probability_sum: ``(C,)`` Σ_x p(y|x).
        negentropy_sum: Σ_x Σ_y p(y|x) log p(y|x).
        n: Number of samples.

    Returns:
        The score, float64.
    """
    marginal = probability_sum.double() / n
    marginal_negentropy = torch.where(
        marginal > 0, marginal * marginal.log(), torch.zeros_like(marginal)
    ).sum()
    return torch.exp(negentropy_sum.double() / n - marginal_negentropy)


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
    """Classify generated samples: classes covered, class-histogram KL to uniform, confidence, IS.

    The Inception Score here is the classifier's (:func:`inception_score`): with the digits
    classifier, a digits IS in ``[1, 10]``.

    With ``features``, the classifier is split in two: ``features`` maps samples to ``(N, F)``
    features and ``classifier`` maps those to logits (its head). A
    :class:`~lightning_gan.metrics.FeatureDistance` on the same ``features`` object then shares one
    extraction per batch with this metric (:class:`~lightning_gan.training.evaluation.Evaluation`).

    Args:
        classifier: Maps ``(N, ...)`` samples in ``[-1, 1]`` (or, with ``features``, their
            ``(N, F)`` features) to ``(N, C)`` logits (held outside the module tree: it never enters
            checkpoints), e.g. :func:`~lightning_gan.metrics.digits_classifier.load_digits_classifier`.
        num_classes: ``C``.
        features: The classifier's body as a feature extractor (``None``: ``classifier`` takes samples).
    """

    full_state_update = False
    higher_is_better = None

    def __init__(
        self, classifier: nn.Module, num_classes: int, features: nn.Module | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)
        self.features = features
        # Kept in a tuple, so nn.Module does not register it: no state_dict entries, no device moves.
        self.held = (classifier.eval().requires_grad_(False),)
        self.num_classes = num_classes
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("confidence_sum", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("probability_sum", torch.zeros(num_classes, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("negentropy_sum", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    @property
    def classifier(self) -> nn.Module:
        """The frozen classifier."""
        return self.held[0]

    @torch.no_grad()
    def update(self, samples: Tensor, features: Tensor | None = None) -> None:
        """Classify a batch of ``(N, ...)`` generated samples.

        Args:
            samples: The samples.
            features: Their ``(N, F)`` features from :attr:`features`, if another metric already
                extracted them.
        """
        first = next(self.classifier.parameters(), None)
        if first is not None and first.device != samples.device:
            self.classifier.to(samples.device)
        inputs = samples
        if self.features is not None:  # float64 features, back to the head's dtype (exact from float32)
            inputs = self.features(samples) if features is None else features
            inputs = inputs if first is None else inputs.to(first.dtype)
        probabilities = self.classifier(inputs).double().softmax(dim=1)
        if probabilities.shape[1] != self.num_classes:
            raise ValueError(
                f"classifier gives {probabilities.shape[1]} classes, expected {self.num_classes}"
            )
        confidence, predicted = probabilities.max(dim=1)
        self.counts += torch.bincount(predicted, minlength=self.num_classes)
        self.confidence_sum += confidence.sum()
        self.probability_sum += probabilities.sum(dim=0)
        # Σ p log p, with 0 log 0 = 0 (xlogy)
        self.negentropy_sum += torch.special.xlogy(probabilities, probabilities).sum()

    def compute(self) -> dict[str, Tensor]:
        """``classes``, ``class_kl``, ``confidence`` and ``inception_score`` since the last reset."""
        score = inception_score(self.probability_sum, self.negentropy_sum, self.counts.sum())
        return coverage_from_class_counts(self.counts, self.confidence_sum) | {"inception_score": score}
