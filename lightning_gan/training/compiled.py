"""``GAN(compile=...)``: G's and D's training forwards through ``torch.compile``, eager where it cannot go.

The compiled callables are kept here, outside the module tree, so the GAN's ``state_dict`` and
checkpoint keys stay those of the eager networks (``torch.compile`` returns a wrapper whose own
keys would carry an ``_orig_mod.`` prefix). They share the networks' parameters, so optimizers,
EMA, checkpoints and DDP see one set of weights. Penalties that differentiate D's output with
``create_graph=True`` (R1, R2, the gradient penalty) need double backward, which compiled graphs do
not support: they run inside :meth:`CompiledNetworks.eager`. Validation and sampling run eager.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import torch
from torch import nn

T = TypeVar("T")
CompileOption = bool | dict[str, Any]


class CompiledNetworks:
    """Compiled forms of the modules a training step calls, made on first use and reused.

    Args:
        options: ``False`` (off), ``True`` (``torch.compile`` defaults) or keyword arguments for
            ``torch.compile`` (for example ``{"mode": "max-autotune"}`` or ``{"backend": "aot_eager"}``).

    Raises:
        ValueError: For another type of ``options``.
    """

    def __init__(self, options: CompileOption = False) -> None:
        if not isinstance(options, (bool, dict)):
            raise ValueError(
                f"compile must be True, False or a dict of torch.compile arguments, got {options!r}"
            )
        #: Keyword arguments of ``torch.compile``, or ``None`` when compile is off.
        self.options: dict[str, Any] | None = None
        if isinstance(options, dict) or options:  # {} too: torch.compile's defaults
            self.options = dict(options) if isinstance(options, dict) else {}
        self.compiled: dict[int, nn.Module] = {}
        self.eager_depth = 0

    @property
    def active(self) -> bool:
        """Whether calls are compiled now (compile on and not inside :meth:`eager`)."""
        return self.options is not None and self.eager_depth == 0

    def __call__(self, module: nn.Module) -> nn.Module:
        """``module`` compiled (once per module object) when :attr:`active`, else ``module`` itself."""
        if not self.active:
            return module
        key = id(module)
        if key not in self.compiled:
            self.compiled[key] = torch.compile(module, **self.options)
        return self.compiled[key]

    @contextmanager
    def eager(self) -> Iterator[None]:
        """Within this context every call is eager (double backward, for example)."""
        self.eager_depth += 1
        try:
            yield
        finally:
            self.eager_depth -= 1

    def eager_call(self, function: Callable[..., T]) -> Callable[..., T]:
        """``function`` run inside :meth:`eager`."""

        @wraps(function)
        def run(*args: Any, **kwargs: Any) -> T:  # noqa: ANN401
            with self.eager():
                return function(*args, **kwargs)

        return run

    def forget(self) -> None:
        """Drop the compiled forms (the DDP wrappers they may hold are gone after a fit)."""
        self.compiled = {}
