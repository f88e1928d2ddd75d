"""Data-parallel training of a GAN: one ``DistributedDataParallel`` wrapper per network.

Lightning's ``DDPStrategy`` wraps the whole LightningModule. A GAN phase trains one network while
the other is frozen, so half the parameters never receive a gradient and DDP stops with "parameters
that were not used in producing the loss", unless ``find_unused_parameters=True`` makes it search the
autograd graph for unused parameters after every backward.

:class:`GANDDPStrategy` instead wraps G and D separately and leaves the LightningModule unwrapped:
:meth:`GAN.generate <lightning_gan.GAN.generate>` calls G through its wrapper only in the G phase,
:meth:`GAN.discriminate <lightning_gan.GAN.discriminate>` calls D through its wrapper only in the D
phase, so every wrapper sees all of its parameters used in every backward it takes part in and no
graph search is needed. It is registered as ``"gan_ddp"`` (``"gan_ddp_spawn"``, ``"gan_ddp_fork"``,
``"gan_ddp_notebook"`` with those start methods); the ``lightning-gan`` CLI maps ``ddp`` and its
variants to these names. A GAN fitted under Lightning's whole-module ``"ddp"`` stops with an error
that names them; ``ddp_find_unused_parameters_true`` keeps Lightning's whole-module wrapper.
"""

import inspect
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
import torch.distributed as dist
from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def deferred_sync(strategy: object, wrapper: nn.Module | None, sync: bool) -> AbstractContextManager:
    """A context in which a backward all-reduces gradients across ranks only if ``sync``.

    Used for the micro-batches of an accumulated update: all but the last run under the wrapper's
    ``no_sync()`` (or, under Lightning's whole-module DDP, the strategy's ``block_backward_sync``).

    Args:
        strategy: The trainer's strategy.
        wrapper: The per-network DDP wrapper of the network being trained, if any.
        sync: Whether this backward synchronises.
    """
    if sync:
        return nullcontext()
    if wrapper is not None:
        return wrapper.no_sync()
    return getattr(strategy, "block_backward_sync", nullcontext)()


def broadcast_state(module: nn.Module, src: int = 0) -> None:
    """Copy every parameter and buffer of ``module`` from rank ``src`` to all ranks (in place).

    Extra state (``get_extra_state``, e.g. ADA's update count) is not a tensor and starts equal.
    """
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if isinstance(tensor, torch.Tensor):
                dist.broadcast(tensor, src)


def average_buffers(module: nn.Module) -> None:
    """Replace every floating-point buffer by its mean over ranks (BatchNorm running statistics).

    Every forward in training mode updates them with that rank's own batch (the per-network
    wrappers do not rebroadcast them; Lightning's whole-module wrapper does, but only before each
    step), so ranks drift apart. Averaging, ``b ← (1/W) Σ_r b_r``, gives every rank the same
    statistics, estimated from all ranks.
    """
    world_size = dist.get_world_size()
    with torch.no_grad():
        for buffer in module.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer)
                buffer.div_(world_size)


class GANDDPStrategy(DDPStrategy):
    """``DDPStrategy`` that wraps G and D separately (see the module docstring).

    Registered as ``"gan_ddp"`` (and the start-method variants). Accepts every ``DDPStrategy``
    argument; keyword arguments it does not name go to each ``DistributedDataParallel``, as with
    ``DDPStrategy``; ``find_unused_parameters`` is not needed. LightningModules that are not a
    :class:`~lightning_gan.GAN` are wrapped whole, as by ``DDPStrategy``.
    """

    #: Registered names and their start methods (as Lightning registers ``ddp`` and its variants).
    START_METHODS = {
        "gan_ddp": "popen",
        "gan_ddp_spawn": "spawn",
        "gan_ddp_fork": "fork",
        "gan_ddp_notebook": "fork",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        named = inspect.signature(DDPStrategy.__init__).parameters
        #: The keyword arguments that go to each ``DistributedDataParallel`` wrapper.
        self.ddp_kwargs = {key: value for key, value in kwargs.items() if key not in named}

    def configure_ddp(self) -> None:
        """Wrap G and D each in ``DistributedDataParallel`` (which broadcasts rank 0's weights)."""
        module = self.model
        if not hasattr(module, "ddp_wrappers"):  # not a GAN
            super().configure_ddp()
            return
        module.ddp_wrappers = {
            "generator": self._wrap(module.generator),
            "discriminator": self._wrap(module.discriminator),
        }
        broadcast_state(module)  # G_ema and any other state start equal on every rank too

    def _wrap(self, network: nn.Module) -> DistributedDataParallel:
        """One network in ``DistributedDataParallel`` with the strategy's arguments.

        ``broadcast_buffers`` defaults to ``False`` here: the buffers that change in training are
        BatchNorm running statistics, which training-mode forwards do not use and which the GAN
        averages over ranks before every validation and at the end of fit; rebroadcasting them on
        each of D's two or three forwards per step would cost a collective each time.
        """
        device_ids = self.determine_ddp_device_ids()
        kwargs = {"broadcast_buffers": False} | self.ddp_kwargs
        with torch.cuda.stream(torch.cuda.Stream()) if device_ids is not None else nullcontext():
            return DistributedDataParallel(network, device_ids=device_ids, **kwargs)

    def teardown(self) -> None:
        """Drop the per-network wrappers, then tear down as ``DDPStrategy`` does."""
        module = self.lightning_module
        if module is not None and getattr(module, "ddp_wrappers", None):
            module.ddp_wrappers = {}
        super().teardown()

    @classmethod
    def register_strategies(cls, strategy_registry: Any) -> None:  # noqa: ANN401
        """Make ``Trainer(strategy="gan_ddp")`` (and the variants) resolve to this class."""
        for name, start_method in cls.START_METHODS.items():
            if name not in strategy_registry:
                strategy_registry.register(
                    name,
                    cls,
                    description=f"DDP with one wrapper per GAN network, start method {start_method!r}",
                    start_method=start_method,
                )


#: What the CLI passes for Lightning's plain DDP names.
CLI_STRATEGIES = {
    "ddp": "gan_ddp",
    "ddp_spawn": "gan_ddp_spawn",
    "ddp_fork": "gan_ddp_fork",
    "ddp_notebook": "gan_ddp_notebook",
}

GANDDPStrategy.register_strategies(StrategyRegistry)
