"""Differentiable augmentation for the discriminator (DiffAugment; Zhao et al., 2020).

The same random transformations are applied to real and generated images before D, in both the D
and the G phase, and they are differentiable, so G's gradient passes through them. D then never
sees un-augmented images and cannot overfit a small dataset, while G is not taught to produce the
augmentations (they act on both sides alike).
"""

import torch
from torch import Tensor, nn

POLICIES = ("color", "translation", "cutout")


class DiffAugment(nn.Module):
    """Random colour, translation and cutout on ``(N, C, H, W)`` images in ``[-1, 1]``, per sample.

    - ``color``: brightness ``x + b``, ``b ~ U[-0.5, 0.5]``; saturation ``(x - x̄_c)·s + x̄_c``,
      ``s ~ U[0, 2]`` around the per-pixel channel mean; contrast ``(x - x̄)·c + x̄``,
      ``c ~ U[0.5, 1.5]`` around the image mean. Values may leave ``[-1, 1]``, as in the paper.
    - ``translation``: integer shift by up to ``translation_ratio × side`` pixels in each axis,
      zero-filled (0 is mid-grey in ``[-1, 1]``).
    - ``cutout``: one zeroed square of side ``cutout_ratio × side`` at a random position.

    Active only while the module is in training mode (evaluation scores plain images).

    Args:
        policy: Comma-separated subset of ``color``, ``translation``, ``cutout``, applied in that order.
        translation_ratio: Largest shift as a fraction of the side.
        cutout_ratio: Side of the cut-out square as a fraction of the image side.

    Raises:
        ValueError: For an unknown or empty policy, or ratios outside ``(0, 1)``.
    """

    def __init__(
        self,
        policy: str = "color,translation,cutout",
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        super().__init__()
        ops = [op.strip() for op in policy.split(",") if op.strip()]
        unknown = [op for op in ops if op not in POLICIES]
        if not ops or unknown:
            raise ValueError(
                f"DiffAugment policy {policy!r}: unknown or empty; use a comma-separated subset of {POLICIES}"
            )
        for name, ratio in (("translation_ratio", translation_ratio), ("cutout_ratio", cutout_ratio)):
            if not 0 < ratio < 1:
                raise ValueError(f"DiffAugment {name} must be in (0, 1), got {ratio}")
        self.ops = [op for op in POLICIES if op in ops]
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio

    def forward(self, x: Tensor) -> Tensor:
        """Augment a batch (identity in eval mode).

        Args:
            x: ``(N, C, H, W)`` images.

        Returns:
            ``(N, C, H, W)`` augmented images, differentiable with respect to ``x``.

        Raises:
            ValueError: If ``x`` is not 4-D.
        """
        if x.ndim != 4:
            raise ValueError(f"DiffAugment works on (N, C, H, W) images, got shape {tuple(x.shape)}")
        if not self.training:
            return x
        for op in self.ops:
            x = getattr(self, op)(x)
        return x

    @staticmethod
    def color(x: Tensor) -> Tensor:
        """Random brightness, saturation and contrast per sample."""
        n = x.shape[0]

        def uniform(low: float, high: float) -> Tensor:
            return torch.empty(n, 1, 1, 1, device=x.device, dtype=x.dtype).uniform_(low, high)

        x = x + uniform(-0.5, 0.5)  # brightness
        channel_mean = x.mean(dim=1, keepdim=True)
        x = (x - channel_mean) * uniform(0.0, 2.0) + channel_mean  # saturation
        image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - image_mean) * uniform(0.5, 1.5) + image_mean  # contrast

    def translation(self, x: Tensor) -> Tensor:
        """Shift each image by a random integer offset, filling with zeros."""
        n, _, h, w = x.shape
        sh, sw = int(h * self.translation_ratio + 0.5), int(w * self.translation_ratio + 0.5)
        dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
        dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
        # Output pixel (i, j) reads input pixel (i - dy, j - dx) of the zero-padded image.
        rows = (torch.arange(h, device=x.device).view(1, h, 1) - dy + sh).expand(n, h, w)
        cols = (torch.arange(w, device=x.device).view(1, 1, w) - dx + sw).expand(n, h, w)
        padded = nn.functional.pad(x, (sw, sw, sh, sh))
        batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
        return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)

    def cutout(self, x: Tensor) -> Tensor:
        """Zero one random square per image (it may be clipped by the border)."""
        n, _, h, w = x.shape
        ch, cw = int(h * self.cutout_ratio + 0.5), int(w * self.cutout_ratio + 0.5)
        top = torch.randint(0, h + 1 - ch % 2, (n, 1, 1), device=x.device) - ch // 2
        left = torch.randint(0, w + 1 - cw % 2, (n, 1, 1), device=x.device) - cw // 2
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
        return x * (~inside).unsqueeze(1).to(x.dtype)

    def extra_repr(self) -> str:  # noqa: D102
        return f"policy={','.join(self.ops)!r}"
