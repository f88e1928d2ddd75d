"""InceptionFeatures' own part (weights path, resize mode, byte mapping, channels, shape), with
torch-fidelity's network replaced by a recorder, so it runs without the optional extra. The real
network is checked in ``test_inception_fidelity.py``, where the extra is installed."""

import pytest
import torch
from torch import nn

from lightning_gan.metrics import FeatureDistance, InceptionFeatures
from lightning_gan.metrics import features as features_module


class FakeInception(nn.Module):
    """Records its constructor arguments and inputs; returns the first 2048 input bytes as features."""

    instances: list["FakeInception"] = []

    def __init__(
        self, name: str, features_list: list[str], feature_extractor_weights_path: str | None, antialias: bool
    ) -> None:
        super().__init__()
        self.args = (name, features_list, feature_extractor_weights_path, antialias)
        self.scale = nn.Parameter(torch.ones(()))  # a weight that must stay out of the GAN's state_dict
        self.inputs: list[torch.Tensor] = []
        FakeInception.instances.append(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.inputs.append(images)
        flat = images.reshape(images.shape[0], -1).float()
        return flat[:, :2048] * self.scale


@pytest.fixture
def fake_inception(monkeypatch):
    FakeInception.instances.clear()
    monkeypatch.setattr(features_module, "NoTrainInceptionV3", FakeInception)
    return FakeInception.instances


def test_local_weights_path_reaches_torch_fidelity(fake_inception, tmp_path):
    weights = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    InceptionFeatures(weights_path=weights)
    InceptionFeatures()
    # antialias=False: torch-fidelity's TensorFlow-compatible resize, not torchmetrics' default.
    assert fake_inception[0].args == ("inception-v3-compat", ["2048"], str(weights), False)
    assert fake_inception[1].args[2] is None  # torch-fidelity's own download


def test_samples_become_bytes_and_grey_becomes_rgb(fake_inception):
    extractor = InceptionFeatures()
    grey = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]).reshape(1, 1, 1, 6).repeat(2, 1, 30, 10)
    out = extractor(grey)
    images = fake_inception[0].inputs[0]
    assert images.dtype == torch.uint8 and images.shape == (2, 3, 30, 60)
    # round((x + 1) · 127.5), clamped to [0, 255]; 127.5 rounds half to even.
    assert images[0, :, 0, :6].tolist() == [[0, 64, 128, 191, 255, 255]] * 3
    assert out.dtype == torch.float64 and out.shape == (2, 2048)
    rgb = torch.zeros(2, 3, 30, 30)
    extractor(rgb)
    assert fake_inception[0].inputs[1].shape == (2, 3, 30, 30)


def test_inception_features_feed_the_distances_and_stay_out_of_checkpoints(fake_inception):
    reference = torch.rand(8, 1, 64, 64) * 2 - 1
    distance = FeatureDistance(InceptionFeatures(), reference, n_generated=8, kid_subset_size=4)
    distance.update(torch.rand(8, 1, 64, 64) * 2 - 1)
    # One pass feeds FID and KID: the reference once, the generated batch once, as bytes in 3 channels.
    assert [tuple(x.shape) for x in fake_inception[0].inputs] == [(8, 3, 64, 64)] * 2
    assert all(x.dtype == torch.uint8 for x in fake_inception[0].inputs)
    assert not any("scale" in key for key in distance.state_dict())


def test_values_below_minus_one_become_byte_zero(fake_inception):
    InceptionFeatures()(torch.full((1, 3, 30, 30), -1.5))  # not wrapped around to 191
    assert fake_inception[0].inputs[0].unique().tolist() == [0]


def test_without_the_extra_the_error_names_it(monkeypatch):
    def missing(**kwargs):
        raise ModuleNotFoundError("No module named 'torch_fidelity'")

    monkeypatch.setattr(features_module, "NoTrainInceptionV3", missing)
    with pytest.raises(ImportError) as raised:
        InceptionFeatures()
    assert str(raised.value) == (
        'InceptionFeatures needs torch-fidelity (and torchvision): pip install "lightning-gan[inception]"; '
        "or use DigitsFeatures or FrozenFeatures (any nn.Module) instead. Original error: "
        "No module named 'torch_fidelity'"
    )


def test_a_frozen_network_takes_no_gradient_and_stays_in_eval_mode():
    network = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    frozen = features_module.FrozenFeatures(network, 2)
    assert not any(p.requires_grad for p in network.parameters()) and not network.training
    assert frozen.num_features == 2


def test_digits_features_load_the_weights_they_are_given(tmp_path):
    from lightning_gan.metrics import DigitsFeatures
    from lightning_gan.metrics.digits_classifier import DigitsClassifier

    torch.manual_seed(0)
    mine = DigitsClassifier()
    torch.save(mine.state_dict(), tmp_path / "mine.pt")
    loaded = DigitsFeatures(tmp_path / "mine.pt").network
    for key, value in mine.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
