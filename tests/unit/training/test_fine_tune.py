import pytest
import torch
from torch import nn

from lightning_gan.nets import DCGANDiscriminator, MLPDiscriminator, MLPGenerator
from lightning_gan.training.fine_tune import freeze_first_layers, load_networks, parameter_layers


def test_layers_are_the_modules_holding_parameters_in_order():
    d = DCGANDiscriminator(image_size=16, channels=1, base_channels=8)
    assert [name for name, _ in parameter_layers(d)] == [
        "net.0",
        "net.2",
        "net.3",
        "net.5",
    ]  # conv, conv, BN, conv


def test_freezing_stops_the_first_layers_only():
    d = DCGANDiscriminator(image_size=16, channels=1, base_channels=8)
    assert freeze_first_layers(d, 2) == ["net.0", "net.2"]
    trains = {name: p.requires_grad for name, p in d.named_parameters()}
    assert trains == {
        "net.0.weight": False,
        "net.0.bias": False,
        "net.2.weight": False,
        "net.3.weight": True,
        "net.3.bias": True,
        "net.5.weight": True,
        "net.5.bias": True,
    }
    assert freeze_first_layers(MLPDiscriminator(), 0) == []


class Scaled(nn.Module):
    """A layer with a parameter of its own around a child layer with parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.inner = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.inner(x)


def test_freezing_a_layer_leaves_its_child_layers_training():
    d = nn.Sequential(Scaled(), nn.Linear(2, 1))
    assert [name for name, _ in parameter_layers(d)] == ["0", "0.inner", "1"]
    assert freeze_first_layers(d, 1) == ["0"]
    trains = {name: p.requires_grad for name, p in d.named_parameters()}
    assert trains == {
        "0.scale": False,
        "0.inner.weight": True,
        "0.inner.bias": True,
        "1.weight": True,
        "1.bias": True,
    }


def test_freezing_every_layer_is_refused_with_the_layer_names():
    with pytest.raises(
        ValueError, match=r"freeze_d_layers=4: D has 4 layers .*net\.0, net\.2, net\.4, net\.6.*0 to 3"
    ):
        freeze_first_layers(MLPDiscriminator(n_hidden=3), 4)


def test_load_networks_copies_g_and_d_and_starts_g_ema_from_g(tmp_path):
    torch.manual_seed(0)
    g, d = MLPGenerator(latent_dim=2), MLPDiscriminator()
    state = {f"generator.{k}": v for k, v in g.state_dict().items()}
    state |= {f"discriminator.{k}": v for k, v in d.state_dict().items()}
    torch.save({"state_dict": state}, tmp_path / "a.ckpt")
    g2, d2, ema = MLPGenerator(latent_dim=2), MLPDiscriminator(), MLPGenerator(latent_dim=2)
    load_networks(g2, d2, ema, tmp_path / "a.ckpt")
    for source, target in ((g, g2), (d, d2), (g, ema)):
        for (key, value), other in zip(
            source.state_dict().items(), target.state_dict().values(), strict=True
        ):
            assert torch.equal(value, other), key


def test_load_networks_names_the_option_for_a_missing_file_or_another_architecture(tmp_path):
    with pytest.raises(ValueError, match=r"init_from='nope.ckpt': no such file"):
        load_networks(MLPGenerator(latent_dim=2), MLPDiscriminator(), None, "nope.ckpt")
    state = {f"generator.{k}": v for k, v in MLPGenerator(latent_dim=2).state_dict().items()}
    state |= {f"discriminator.{k}": v for k, v in MLPDiscriminator(hidden_features=8).state_dict().items()}
    torch.save({"state_dict": state}, tmp_path / "b.ckpt")
    with pytest.raises(ValueError, match="another architecture"):
        load_networks(MLPGenerator(latent_dim=2), MLPDiscriminator(), None, tmp_path / "b.ckpt")


def test_load_networks_takes_g_ema_from_the_checkpoint_when_it_has_one(tmp_path):
    torch.manual_seed(0)
    g, d, g_ema = MLPGenerator(latent_dim=2), MLPDiscriminator(), MLPGenerator(latent_dim=2)
    state = {
        f"{name}.{k}": v
        for name, net in (("generator", g), ("discriminator", d), ("generator_ema", g_ema))
        for k, v in net.state_dict().items()
    }
    torch.save({"state_dict": state}, tmp_path / "ema.ckpt")
    ema = MLPGenerator(latent_dim=2)
    load_networks(MLPGenerator(latent_dim=2), MLPDiscriminator(), ema, tmp_path / "ema.ckpt")
    for key, value in g_ema.state_dict().items():
        assert torch.equal(ema.state_dict()[key], value), key


def test_an_unreadable_file_or_one_without_g_and_d_is_named(tmp_path):
    (tmp_path / "text.ckpt").write_text("not a checkpoint")
    with pytest.raises(ValueError) as raised:
        load_networks(MLPGenerator(latent_dim=2), MLPDiscriminator(), None, tmp_path / "text.ckpt")
    assert str(raised.value).startswith(
        f"init_from={str(tmp_path / 'text.ckpt')!r}: not a readable GAN checkpoint ("
    )
    torch.save({"state_dict": {"generator.w": torch.zeros(1)}}, tmp_path / "g_only.ckpt")
    with pytest.raises(ValueError) as raised:
        load_networks(MLPGenerator(latent_dim=2), MLPDiscriminator(), None, tmp_path / "g_only.ckpt")
    name = repr(str(tmp_path / "g_only.ckpt"))
    assert (
        str(raised.value) == f"init_from={name}: the checkpoint holds no generator and discriminator weights"
    )
