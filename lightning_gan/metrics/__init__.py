"""Sample-quality metrics."""

from lightning_gan.metrics.class_coverage import ClassCoverage
from lightning_gan.metrics.digits_classifier import DigitsClassifier, load_digits_classifier
from lightning_gan.metrics.distances import FeatureDistance
from lightning_gan.metrics.features import DigitsFeatures, FrozenFeatures, InceptionFeatures
from lightning_gan.metrics.mode_coverage import ModeCoverage, mode_coverage

__all__ = [
    "ClassCoverage",
    "DigitsClassifier",
    "DigitsFeatures",
    "FeatureDistance",
    "FrozenFeatures",
    "InceptionFeatures",
    "ModeCoverage",
    "load_digits_classifier",
    "mode_coverage",
]
