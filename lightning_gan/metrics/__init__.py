"""Sample-quality metrics."""

from lightning_gan.metrics.mode_coverage import ModeCoverage, mode_coverage

__all__ = ["ModeCoverage", "mode_coverage"]
