"""Cheaper equivalents of per-update work, used only where they give the same result.

Five things run on every GAN update and cost more than they need to on small networks:

- Lightning's ``manual_backward`` dispatch (strategy → precision plugin → ``on_before_backward`` and
  ``on_after_backward`` on every callback and the module, each under a profiler context) around a
  plain ``loss.backward()``. :func:`plain_backward_suffices` tells when that dispatch only calls
  hooks nobody overrides, so ``loss.backward()`` is the same computation.
- ``LightningOptimizer.step()``'s dispatch (strategy → precision plugin → a closure wrapper that
  calls ``on_before_optimizer_step`` on every callback and then on the module). Where no callback
  overrides that hook (:func:`plain_step_suffices`), :func:`plain_step` keeps Lightning's step
  counting, calls the module's hook and steps the torch optimizer.
- Attribute writes. ``nn.Module.__setattr__`` checks every assignment against parameters, child
  modules and buffers (two metaclass ``isinstance`` checks, ~3 µs on CPU). Lightning assigns
  ``_current_fx_name`` twice around each hook call and a GAN iteration updates its counters and
  flags: ~45 assignments per iteration. :func:`is_plain_assignment` tells when
  ``object.__setattr__`` does the same thing (~0.7 µs).
- The non-finite gradient check. A global gradient norm (grouping, one norm per tensor, a stack, a
  final norm) is more than a yes/no needs; :func:`all_finite` uses the fused kernel that PyTorch's
  ``GradScaler`` runs to look for inf/NaN gradients.
- PyTorch's own wrappers around ``Optimizer.step`` and ``Optimizer.zero_grad``: each opens a
  ``record_function`` span for the profiler, and the step wrapper also runs the global and
  per-optimizer step hooks. With no profiler running, no hook registered and no ``step`` or
  ``zero_grad`` set on the optimizer instance they change nothing; :func:`bare_step` and
  :func:`clear_gradients` then call what they wrap.
"""

import threading
from collections.abc import Callable, Iterable

import torch
from lightning import Callback, LightningModule
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.optimizer import _global_optimizer_post_hooks, _global_optimizer_pre_hooks

#: Value types that are never a parameter, a module or a tensor.
PLAIN_TYPES = frozenset({bool, int, float, str, type(None), dict, list, tuple})

#: The hooks that Lightning's backward dispatch calls around ``loss.backward()``.
BACKWARD_HOOKS = ("on_before_backward", "on_after_backward")


def _plain_setting(module: LightningModule) -> bool:
    """One device at plain 32-bit precision (no loss scaling, no DDP reducer) and no profiler timing hooks."""
    trainer = module.trainer
    return (
        type(trainer.strategy) is SingleDeviceStrategy
        and type(trainer.precision_plugin) is Precision
        and isinstance(trainer.profiler, PassThroughProfiler)
    )


def _callbacks_override(module: LightningModule, hooks: Iterable[str]) -> bool:
    return any(is_overridden(hook, cb, Callback) for cb in module.trainer.callbacks for hook in hooks)


def plain_backward_suffices(module: LightningModule) -> bool:
    """Whether ``loss.backward()`` does all that ``module.manual_backward(loss)`` would do in this fit.

    True in a plain setting (one device, 32-bit precision, no profiler) when neither the module
    (``backward`` included) nor any callback overrides a backward hook.

    Args:
        module: A LightningModule attached to a running ``Trainer``.
    """
    return (
        _plain_setting(module)
        and not any(is_overridden(hook, module, LightningModule) for hook in (*BACKWARD_HOOKS, "backward"))
        and not _callbacks_override(module, BACKWARD_HOOKS)
    )


def plain_step_suffices(module: LightningModule) -> bool:
    """Whether :func:`plain_step` does all that ``LightningOptimizer.step()`` would do in this fit.

    True in a plain setting when no callback overrides ``on_before_optimizer_step`` (the module's
    own hook, overridden or not, is called by :func:`plain_step`).

    Args:
        module: A LightningModule attached to a running ``Trainer``.
    """
    return _plain_setting(module) and not _callbacks_override(module, ("on_before_optimizer_step",))


def plain_step(optimizer: LightningOptimizer, before_step: Callable[[Optimizer], None]) -> None:
    """``optimizer.step()`` for manual optimization, without the strategy and closure dispatch.

    Lightning's loop installs ``_on_before_step``/``_on_after_step`` on each ``LightningOptimizer``
    to count optimizer steps (``trainer.global_step``); they run here as they would in ``step()``.

    Args:
        optimizer: The ``LightningOptimizer`` to step (from ``self.optimizers()``).
        before_step: The module's ``on_before_optimizer_step``, called with the torch optimizer
            after the gradients are complete and before they are applied.
    """
    optimizer._on_before_step()
    before_step(optimizer.optimizer)
    bare_step(optimizer.optimizer)
    optimizer._on_after_step()


def bare_step(optimizer: Optimizer) -> None:
    """``optimizer.step()``; where PyTorch's wrapper around it would add nothing, the update alone.

    PyTorch wraps each optimizer class's ``step`` once (``Optimizer.profile_hook_step``, marked
    ``hooked``): a profiler span around the global and per-optimizer pre-hooks, the update, a
    profiler entry point and the post-hooks. When no profiler runs, no step hook is registered and
    nothing has replaced ``step`` on the instance (a learning-rate scheduler does, to note that the
    optimizer stepped before it), the update alone is the same computation, and it skips the span's
    cost (about 5 % of a 3×128 MLP's iteration on 2 CPU cores, both wrappers together).

    Args:
        optimizer: A torch optimizer (not a ``LightningOptimizer``).
    """
    step = type(optimizer).step
    update = getattr(step, "__wrapped__", None)
    watched = (
        "step" in vars(optimizer)
        or torch.autograd._profiler_enabled()
        or _global_optimizer_pre_hooks
        or _global_optimizer_post_hooks
        or optimizer._optimizer_step_pre_hooks
        or optimizer._optimizer_step_post_hooks
    )
    if update is None or not getattr(step, "hooked", False) or watched:
        optimizer.step()
    else:
        update(optimizer)


def clear_gradients(optimizer: Optimizer) -> None:
    """``optimizer.zero_grad(set_to_none=True)``, without its profiler span where no profiler runs.

    Sets every parameter's ``grad`` to ``None``, as ``Optimizer.zero_grad`` does; an optimizer
    whose class or instance has its own ``zero_grad`` keeps it.

    Args:
        optimizer: A torch optimizer or a ``LightningOptimizer`` (which shares its parameter groups).
    """
    own = type(optimizer).zero_grad is not Optimizer.zero_grad or "zero_grad" in vars(optimizer)
    if own or torch.autograd._profiler_enabled():
        optimizer.zero_grad(set_to_none=True)
        return
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            parameter.grad = None


def is_plain_assignment(module: nn.Module, name: str, value: object) -> bool:
    """Whether ``module.name = value`` may skip ``nn.Module.__setattr__`` (``object.__setattr__`` suffices).

    True when ``value`` is of a plain Python type (:data:`PLAIN_TYPES`) and ``name`` is already an
    ordinary attribute: it is in the instance ``__dict__``, which parameters, child modules and
    buffers never are. ``nn.Module.__setattr__`` would then run its checks and end in
    ``object.__setattr__`` all the same.

    Args:
        module: The module assigned to.
        name: The attribute name.
        value: The value assigned.
    """
    return type(value) in PLAIN_TYPES and name in module.__dict__


#: Per thread, device → (``found_inf`` flag, inverse scale 1): the two 0-d tensors every check
#: passes to the kernel. Creating both anew took longer on CPU (about 30 µs) than the scan of a
#: 3×128 MLP's gradients (13 µs).
_check_flags = threading.local()


def _flags(device: torch.device) -> tuple[Tensor, Tensor]:
    """This thread's ``found_inf`` flag (zeroed) and inverse scale of 1 on ``device``."""
    by_device: dict[torch.device, tuple[Tensor, Tensor]] = _check_flags.__dict__.setdefault("by_device", {})
    flags = by_device.get(device)
    if flags is None:
        flags = by_device[device] = torch.zeros((), device=device), torch.ones((), device=device)
    flags[0].zero_()
    return flags


def all_finite(tensors: Iterable[Tensor]) -> bool:
    """Whether every element of every tensor is finite; one fused pass per device, one host sync.

    ``torch._amp_foreach_non_finite_check_and_unscale_`` is the kernel ``GradScaler`` uses to detect
    inf/NaN gradients. It multiplies each tensor by the inverse scale in place; with an inverse
    scale of 1 that leaves every value as it was (x · 1 = x exactly; only under
    ``torch.set_flush_denormal(True)`` do denormals become 0, as in any arithmetic) and sets
    ``found_inf`` to 1 if any value is inf or NaN. The flag and the scale are kept per thread and
    device and reused (each check reads its flag before the next one zeroes it).

    Args:
        tensors: Dense or sparse tensors of any floating dtype and shape, on any devices.
    """
    per_device: dict[torch.device, list[Tensor]] = {}
    for tensor in tensors:
        dense = tensor.coalesce().values() if tensor.is_sparse else tensor
        per_device.setdefault(dense.device, []).append(dense)
    for device, group in per_device.items():
        found_inf, one = _flags(device)
        torch._amp_foreach_non_finite_check_and_unscale_(group, found_inf, one)
        if found_inf:  # the host sync
            return False
    return True
