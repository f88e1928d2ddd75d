"""The GAN's validation, test and predict hooks and its sampling: a mixin of :class:`~lightning_gan.GAN`."""

from typing import Any

import torch
from torch import Tensor

from lightning_gan.training.evaluation import eval_mode


class EvaluationHooks:
    """What a :class:`~lightning_gan.GAN` does outside training: measure, test, predict, sample.

    Validation and test draw their latents from a seeded evaluation stream (``RunState``) and feed
    G's samples to :class:`~lightning_gan.training.evaluation.Evaluation`; every value is logged at
    the GAN's ``iteration``. The methods use the GAN's networks, hooks and collaborators.
    """

    def on_validation_epoch_start(self) -> None:
        """Average buffers over ranks; draw evaluation latents from their own seeded stream."""
        self.on_train_end()
        self.run_state.enter_evaluation(self.trainer.global_rank)

    def on_test_epoch_start(self) -> None:
        """Draw test latents from the evaluation stream."""
        self.run_state.enter_evaluation(self.trainer.global_rank)

    def validation_step(self, batch: Any, batch_idx: int) -> None:  # noqa: ANN401
        """Score held-out reals and as many fakes with D; feed the fakes to the sample metrics."""
        real = self.real_from_batch(batch)
        fake_labels = self.sample_labels(real.shape[0])
        fake = self.sample(real.shape[0], labels=fake_labels)
        real_logits = self.discriminate(real, self.labels_from_batch(batch))
        self.evaluation.update(real_logits, self.discriminate(fake, fake_labels), fake)

    def test_step(self, batch: Any, batch_idx: int) -> None:  # noqa: ANN401
        """The validation measurements on the test dataloader, logged as ``test/*``."""
        self.validation_step(batch, batch_idx)

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:  # noqa: ANN401
        """``(N, *sample_shape)`` samples, as many as the batch holds."""
        return self.sample(self.real_from_batch(batch).shape[0])

    def on_validation_epoch_end(self) -> None:  # noqa: D102
        self._evaluation_epoch_end("val")

    def on_test_epoch_end(self) -> None:  # noqa: D102
        self._evaluation_epoch_end("test")

    def _evaluation_epoch_end(self, prefix: str) -> None:
        """Compute (rank-synced by torchmetrics), reset and log ``<prefix>/*``; back to training's streams."""
        metrics = self.evaluation.compute(prefix)
        if not self.trainer.sanity_checking:
            self.log_to_loggers(metrics)
            summary = " ".join(f"{key}={float(value):.4g}" for key, value in metrics.items())
            self.print(f"iteration {self.iteration}: {summary}")
        self.run_state.leave_evaluation()

    @torch.no_grad()
    def sample(self, n: int, z: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        """``(n, *sample_shape)`` samples of G_ema (else G) in eval mode.

        ``z`` (``(n, latent_dim)``) defaults to fresh noise, ``labels`` (``(n,)``) to :meth:`sample_labels`.
        """
        z = self.sample_latent(n) if z is None else z
        labels = self.sample_labels(n) if labels is None else labels
        with eval_mode(self.generator_ema if self.generator_ema is not None else self.generator):
            return self.generate(z, labels, average=True)
