"""Fine-tuning: start from another run's networks, D's first layers frozen (Freeze-D; Mo et al., 2020)."""

from pathlib import Path

import torch
from torch import Tensor, nn

from lightning_gan.training.checks import check_architecture


def parameter_layers(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules of ``network`` that hold parameters themselves (a conv, a linear, a norm), in order."""
    layers = []
    for name, module in network.named_modules():
        if next(module.parameters(recurse=False), None) is not None:
            layers.append((name, module))
    return layers


def freeze_first_layers(network: nn.Module, n: int) -> list[str]:
    """Stop training the first ``n`` :func:`parameter_layers` of ``network`` (``requires_grad=False``).

    Args:
        network: The discriminator.
        n: Layers to freeze, from the input side; ``0`` freezes nothing.

    Returns:
        The frozen layers' names.

    Raises:
        ValueError: If ``n`` is negative or not below the number of layers (the last must train).
    """
    if n == 0:
        return []
    layers = parameter_layers(network)
    if not 0 < n < len(layers):
        raise ValueError(
            f"freeze_d_layers={n}: D has {len(layers)} layers with parameters "
            f"({', '.join(name for name, _ in layers)}); freeze 0 to {len(layers) - 1} of them"
        )
    for _, layer in layers[:n]:
        for parameter in layer.parameters(recurse=False):
            parameter.requires_grad_(False)
    return [name for name, _ in layers[:n]]


def network_states(path: str | Path) -> dict[str, dict[str, Tensor]]:
    """``generator``, ``discriminator`` (and ``generator_ema`` if saved) weights of a GAN checkpoint.

    The file is unpickled in full (it may hold the model's networks as objects): name only
    checkpoints you trust, as for ``GAN.load_from_checkpoint``.

    Raises:
        ValueError: Naming ``init_from`` and the file, if it is missing or not a GAN checkpoint.
    """
    if not Path(path).is_file():
        raise ValueError(f"init_from={str(path)!r}: no such file; give a checkpoint written by a GAN fit")
    try:
        # Full unpickling, as GAN.load_from_checkpoint does: a checkpoint of a model built in Python keeps
        # its networks as objects in the hyperparameters. Only name files you trust.
        state = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
    except Exception as error:  # noqa: BLE001 (torch raises many kinds for a bad file)
        raise ValueError(f"init_from={str(path)!r}: not a readable GAN checkpoint ({error})") from None
    networks: dict[str, dict[str, Tensor]] = {}
    for key, value in state.items():
        network, _, name = key.partition(".")
        if network in ("generator", "discriminator", "generator_ema"):
            networks.setdefault(network, {})[name] = value
    if not {"generator", "discriminator"} <= networks.keys():
        raise ValueError(
            f"init_from={str(path)!r}: the checkpoint holds no generator and discriminator weights"
        )
    return networks


def load_networks(
    generator: nn.Module, discriminator: nn.Module, ema: nn.Module | None, path: str | Path
) -> None:
    """Load a checkpoint's G and D into ``generator`` and ``discriminator``; G_ema from its own, else from G.

    Raises:
        ValueError: If the file is not a GAN checkpoint, or its networks differ from these.
    """
    networks = network_states(path)
    targets = {"generator": generator, "discriminator": discriminator}
    if ema is not None:
        targets["generator_ema"] = ema
        networks.setdefault("generator_ema", networks["generator"])
    for name, network in targets.items():
        check_architecture(network, networks[name])
        network.load_state_dict(networks[name])
