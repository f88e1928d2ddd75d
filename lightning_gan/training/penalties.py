"""A GAN's regularizers, by network: which are due at an update, their weighted sum, after-step changes."""

from collections.abc import Callable, Mapping

from torch import Tensor, nn

from lightning_gan.regularizers import Network, Regularizer, ScaledScorer


class Penalties:
    """The regularizers of one GAN, applied in the phase of the network each one names.

    A lazy regularizer (``every = n``) is due on updates ``0, n, 2n, ...`` of its network (D updates
    counted over the run, or G updates, i.e. iterations) and then counts ``n`` times, so that its
    average strength is what it would be on every update (StyleGAN2's lazy regularization):
    ``loss_total = loss + Σ_due every·penalty``.

    Args:
        regularizers: Penalties and constraints, each with its own ``name`` (logged as ``train/<name>``).

    Raises:
        ValueError: If two regularizers share a name.
    """

    def __init__(self, regularizers: list[Regularizer]) -> None:
        names = [regularizer.name for regularizer in regularizers]
        if len(set(names)) != len(names):
            raise ValueError(
                f"regularizers must have distinct names (they are logged as train/<name>), got {names}"
            )
        self.regularizers = regularizers

    def due(
        self, network: Network, update: int, scorer: Callable[[], ScaledScorer], real: Tensor, fake: Tensor
    ) -> dict[str, Tensor]:
        """Unscaled penalties of ``network``'s regularizers due at its ``update``-th update (0-based).

        Args:
            network: The network being updated.
            update: Its update index over the whole run.
            scorer: Builds D as the step calls it, with the loss scale of mixed precision; called
                once, and only when some regularizer is due.
            real: ``(N, *sample_shape)`` reals of the step.
            fake: ``(N, *sample_shape)`` fakes of the step (detached in the D phase).

        Returns:
            Name → scalar penalty, for the regularizers that add a loss term.
        """
        penalties = {}
        discriminate: ScaledScorer | None = None
        for regularizer in self.regularizers:
            if regularizer.network == network and regularizer.is_due(update):
                if discriminate is None:
                    discriminate = scorer()
                value = regularizer.penalty(discriminate, real, fake)
                if value is not None:
                    penalties[regularizer.name] = value
        return penalties

    def total(self, loss: Tensor, penalties: Mapping[str, Tensor], micro_batches: int = 1) -> Tensor:
        """The scalar one micro-batch backpropagates: ``(loss + Σ every·penalty) / N``.

        Dividing by the ``N`` micro-batches of an accumulated update makes the update follow the
        mean over its ``N`` batches. The add and the divide are left out where they change nothing.

        Args:
            loss: Scalar adversarial loss of the micro-batch.
            penalties: Unscaled penalties due at this update, by name (from :meth:`due`).
            micro_batches: ``N``.
        """
        if penalties:
            every = {regularizer.name: regularizer.every for regularizer in self.regularizers}
            loss = loss + sum(every[name] * value for name, value in penalties.items())
        return loss / micro_batches if micro_batches > 1 else loss

    def after_step(self, network: Network, module: nn.Module) -> None:
        """Let ``network``'s regularizers change its freshly stepped weights (e.g. weight clipping)."""
        for regularizer in self.regularizers:
            if regularizer.network == network:
                regularizer.after_step(module)
