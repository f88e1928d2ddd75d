"""What happens between a backward and the weights changing: loss scale, non-finite skips, clipping, norms."""

import math
from typing import Any

import torch
from lightning import LightningModule, Trainer
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import Tensor
from torch.optim import Optimizer

from lightning_gan.regularizers import Network

NETWORKS: tuple[Network, Network] = ("generator", "discriminator")


def grad_scaler(trainer: Trainer) -> torch.amp.GradScaler | None:
    """The precision plugin's enabled ``GradScaler`` (``16-mixed``), else ``None``."""
    scaler = getattr(trainer.precision_plugin, "scaler", None)
    return scaler if scaler is not None and scaler.is_enabled() else None


def loss_scale(trainer: Trainer) -> float:
    """The factor ``s`` by which backward scales the loss (1 without a ``GradScaler``)."""
    scaler = grad_scaler(trainer)
    return scaler.get_scale() if scaler is not None else 1.0


def gradients(optimizer: Optimizer) -> list[Tensor]:
    """The gradients ``optimizer`` would apply (parameters without one are left out)."""
    return [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]


def all_finite(grads: list[Tensor]) -> bool:
    """Whether every element of ``grads`` is finite, from one host sync on their total sum.

    ``Σ_p Σ_i g_pi`` (accumulated in float32, so half-precision gradients cannot overflow it) is
    NaN or ±inf exactly when some element is NaN or ±inf (``inf - inf`` gives NaN), barring a sum
    beyond float32's range (``> 3.4e38``), which reads as non-finite. One sum per tensor: fewer
    operations than a norm (whose squares would also overflow sooner, at ``|g| > 1.8e19``).

    Args:
        grads: Gradient tensors of any shapes, dtypes and devices (at least one).
    """
    device = grads[0].device
    return math.isfinite(torch.stack([g.sum(dtype=torch.float32).to(device) for g in grads]).sum().item())


class UpdateGuard:
    """Steps one network's optimizer, and decides on the way whether the update may be applied.

    :meth:`step` calls ``optimizer.step()`` (Lightning's, so precision plugins, callbacks and step
    counting see it); Lightning then calls the module's ``on_before_optimizer_step``, which hands
    over to :meth:`before_step` with the gradients complete and already unscaled. There:

    - on logging iterations the global gradient norm ``‖g‖ = sqrt(Σ_p ‖∇p‖²)`` is kept in
      :attr:`norms`;
    - without a ``GradScaler`` non-finite gradients (NaN/inf anywhere, see :func:`all_finite`)
      are dropped (``grad = None``), so the optimizer leaves weights and state alone; under a
      ``GradScaler`` the scaler skips such steps itself and lowers its scale (``s ← backoff·s``),
      which is how a skip is seen afterwards;
    - the gradients are clipped at the network's value (``"norm"``: rescaled so ``‖g‖ ≤ c``;
      ``"value"``: each element clamped to ``[-c, c]``).

    Skipped updates are counted (:attr:`skipped_steps`, all networks) and, per network, in a row;
    too many in a row stop training.

    Args:
        clip: Clip value per network (``None``: no clipping).
        algorithm: ``"norm"`` or ``"value"``.
        max_consecutive_skips: Skipped updates of one network in a row that stop training.

    Raises:
        ValueError: For a clip value ``<= 0``, another algorithm, or ``max_consecutive_skips < 1``.
    """

    def __init__(
        self,
        clip: dict[Network, float | None] | None = None,
        algorithm: str = "norm",
        max_consecutive_skips: int = 25,
    ) -> None:
        self.clip: dict[Network, float | None] = {"generator": None, "discriminator": None} | (clip or {})
        for network, value in self.clip.items():
            if value is not None and value <= 0:
                name = "g_gradient_clip_val" if network == "generator" else "d_gradient_clip_val"
                raise ValueError(f"{name} must be > 0 or None (no clipping), got {value}")
        if algorithm not in ("norm", "value"):
            raise ValueError(f"gradient_clip_algorithm must be 'norm' or 'value', got {algorithm!r}")
        if max_consecutive_skips < 1:
            raise ValueError(f"max_consecutive_skips must be >= 1, got {max_consecutive_skips}")
        self.algorithm, self.max_consecutive_skips = algorithm, max_consecutive_skips
        self.skipped_steps = 0
        self.in_a_row: dict[Network, int] = dict.fromkeys(NETWORKS, 0)
        #: Whether an update of each network was applied since :meth:`take_applied` last asked.
        self.applied: dict[Network, bool] = dict.fromkeys(NETWORKS, False)
        #: Gradient norms of the last logged updates, ``grad_norm_g``/``grad_norm_d`` → 0-d tensor.
        self.norms: dict[str, Tensor] = {}
        self._stepping: Network | None = None
        self._record_norm = False
        self._check_finite = True
        self._finite = True

    def step(
        self, module: LightningModule, optimizer: LightningOptimizer, network: Network, record_norm: bool
    ) -> bool:
        """Step ``network``'s optimizer through Lightning; return whether the update was applied.

        Args:
            module: The GAN (its ``trainer`` tells the precision in use).
            optimizer: That network's optimizer, from ``module.optimizers()``.
            network: Which network it updates.
            record_norm: Keep the gradient norm in :attr:`norms` (logging iterations).

        Raises:
            FloatingPointError: After ``max_consecutive_skips`` skipped updates of ``network`` in a
                row. Nothing is written on the way out, so the last checkpoint stays as it was.
        """
        scaler = grad_scaler(module.trainer)
        scale_before = scaler.get_scale() if scaler is not None else 0.0
        self._stepping, self._record_norm, self._finite = network, record_norm, True
        self._check_finite = scaler is None  # a GradScaler checks for itself
        try:
            optimizer.step()
        finally:
            self._stepping, self._record_norm = None, False
        applied = self._finite and (scaler is None or scaler.get_scale() >= scale_before)
        if applied:
            self.in_a_row[network] = 0
            self.applied[network] = True
            return True
        self.skipped_steps += 1
        self.in_a_row[network] += 1
        if self.in_a_row[network] >= self.max_consecutive_skips:
            raise FloatingPointError(
                f"{self.in_a_row[network]} {network} updates in a row had non-finite (NaN/inf) gradients; "
                "training stops here and the last checkpoint written is left as it was. Lower the "
                "learning rate, add clipping (g_gradient_clip_val/d_gradient_clip_val) or a gradient "
                "penalty, check the data for NaN, or raise max_consecutive_skips "
                f"(now {self.max_consecutive_skips})."
            )
        return False

    def before_step(self, module: LightningModule, optimizer: Optimizer) -> None:
        """Norm, non-finite drop and clipping of the gradients about to be applied (see the class)."""
        network = self._stepping
        if network is None:  # a step this guard did not start
            return
        grads = gradients(optimizer)
        if grads and self._record_norm:  # foreach kernels where the device has them; no host sync
            norm = torch.nn.utils.get_total_norm(grads)
            self.norms["grad_norm_g" if network == "generator" else "grad_norm_d"] = norm.detach()
        if grads and self._check_finite and not all_finite(grads):  # one host sync per update
            optimizer.zero_grad(set_to_none=True)
            self._finite = False
            return
        clip = self.clip[network]
        if clip is not None:
            module.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm=self.algorithm)

    def take_applied(self) -> dict[Network, bool]:
        """Which networks had an update applied since the last call; resets the record."""
        applied, self.applied = self.applied, dict.fromkeys(NETWORKS, False)
        return applied

    def take_norms(self) -> dict[str, Tensor]:
        """The recorded gradient norms; resets the record."""
        norms, self.norms = self.norms, {}
        return norms

    def state_dict(self) -> dict[str, Any]:
        """Skip counts and which networks were updated in the iteration in progress."""
        return {
            "skipped_steps": self.skipped_steps,
            "in_a_row": dict(self.in_a_row),
            "applied": dict(self.applied),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.skipped_steps = state["skipped_steps"]
        self.in_a_row = dict(state["in_a_row"])
        self.applied = dict(state["applied"])
