"""How the GAN calls G and D: one place each, through DDP wrappers and ``compile`` while training."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from torch import Tensor, nn

from lightning_gan.distributed import deferred_sync
from lightning_gan.regularizers import ScaledScorer
from lightning_gan.training import Network
from lightning_gan.training.guard import loss_scale
from lightning_gan.training.joint_forward import score_pair


class NetworkCalls:
    """Every forward of G and D in a :class:`~lightning_gan.GAN` goes through these methods: a mixin.

    Inside a training phase (:meth:`training_phase`) the network being trained runs through its
    per-network DDP wrapper (``ddp_wrappers``, set by ``gan_ddp``) and, with ``compile``, both run
    compiled; outside (validation, sampling, penalties that need double backward) they run eager.
    D sees every training sample through ``augment``.
    """

    def generate(self, z: Tensor, labels: Tensor | None = None, *, average: bool = False) -> Tensor:
        """Every G forward goes through here: ``(N, latent_dim)`` z, ``(N,)`` labels → ``(N, *sample_shape)``.

        ``average=True`` uses G_ema where there is one.
        """
        average = average and self.generator_ema is not None
        net = self.generator_ema if average else self._network("generator")
        return net(z) if labels is None else net(z, labels)

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Every D forward goes through here (after :attr:`augment` in training): ``(N, ...)`` → ``(M,)``.

        ``M = N``, or ``N / pack`` for a packed D.
        """
        if self.augment is not None and self.training:
            x = self.augment(x)
        net = self._network("discriminator")
        return (net(x) if labels is None else net(x, labels)).reshape(-1)

    def discriminate_pair(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor]:
        """D's ``(M,)`` logits on reals and on fakes: one forward of both where :attr:`joint_now` allows."""
        return score_pair(self.discriminate, real, fake, labels, self.joint_now)

    def _network(self, network: Network) -> nn.Module:
        """G or D; in a training phase compiled (``compile``), and through its DDP wrapper if trained."""
        module = self.generator if network == "generator" else self.discriminator
        if network == self._training_network:
            module = self.ddp_wrappers.get(network, module)
        return module if self._training_network is None else self.compiled(module)

    @contextmanager
    def training_phase(self, network: Network, sync: bool) -> Iterator[None]:
        """Mark ``network`` as trained (its DDP wrapper is used); ``sync=False`` defers DDP's all-reduce."""
        self._training_network = network
        try:
            with deferred_sync(self.trainer.strategy, self.ddp_wrappers.get(network), sync):
                yield
        finally:
            self._training_network = None

    def penalty_scorer(self, labels: Tensor | None) -> ScaledScorer:
        """D as a penalty calls it: through :meth:`discriminate`, with the loss scale of mixed precision."""
        discriminate = self.compiled.eager_call(partial(self.discriminate, labels=labels))  # double backward
        return ScaledScorer(discriminate, loss_scale(self.trainer))
