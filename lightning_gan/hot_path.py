"""Cheaper equivalents of per-update work, used only where they give the same result.

Two things run on every GAN update and cost more than they need to on small networks:

- Lightning's ``manual_backward`` dispatch (strategy → precision plugin → ``on_before_backward`` and
  ``on_after_backward`` on every callback and the module, each under a profiler context) around a
  plain ``loss.backward()``. :func:`plain_backward_suffices` tells when that dispatch only calls
  hooks nobody overrides, so ``loss.backward()`` is the same computation.
- The non-finite gradient check. A global gradient norm (grouping, one norm per tensor, a stack, a
  final norm) is more than a yes/no needs; :func:`all_finite` uses the fused kernel that PyTorch's
  ``GradScaler`` runs to look for inf/NaN gradients.
"""

from collections.abc import Iterable

import torch
from lightning import Callback, LightningModule
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor

#: The hooks that Lightning's backward dispatch calls around ``loss.backward()``.
BACKWARD_HOOKS = ("on_before_backward", "on_after_backward")


def plain_backward_suffices(module: LightningModule) -> bool:
    """Whether ``loss.backward()`` does all that ``module.manual_backward(loss)`` would do in this fit.

    True only on one device at plain 32-bit precision (no loss scaling, no DDP reducer to prepare),
    with no profiler recording hook times, and when neither the module (``backward`` included) nor
    any callback overrides a backward hook.

    Args:
        module: A LightningModule attached to a running ``Trainer``.
    """
    trainer = module.trainer
    return (
        type(trainer.strategy) is SingleDeviceStrategy
        and type(trainer.precision_plugin) is Precision
        and isinstance(trainer.profiler, PassThroughProfiler)
        and not any(is_overridden(hook, module, LightningModule) for hook in (*BACKWARD_HOOKS, "backward"))
        and not any(is_overridden(hook, cb, Callback) for cb in trainer.callbacks for hook in BACKWARD_HOOKS)
    )


def all_finite(tensors: Iterable[Tensor]) -> bool:
    """Whether every element of every tensor is finite; one fused pass per device, one host sync.

    ``torch._amp_foreach_non_finite_check_and_unscale_`` is the kernel ``GradScaler`` uses to detect
    inf/NaN gradients. It multiplies each tensor by the inverse scale in place; with an inverse
    scale of 1 that leaves every value as it was (x · 1 = x) and only sets ``found_inf`` to 1 if any
    value is inf or NaN.

    Args:
        tensors: Dense or sparse tensors of any floating dtype and shape, on any devices.
    """
    per_device: dict[torch.device, list[Tensor]] = {}
    for tensor in tensors:
        dense = tensor.coalesce().values() if tensor.is_sparse else tensor
        per_device.setdefault(dense.device, []).append(dense)
    for device, group in per_device.items():
        found_inf = torch.zeros((), device=device)
        torch._amp_foreach_non_finite_check_and_unscale_(group, found_inf, torch.ones((), device=device))
        if found_inf:  # the host sync
            return False
    return True
