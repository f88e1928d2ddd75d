"""InceptionFeatures on torch-fidelity's real Inception-v3, against torch-fidelity's own FID and KID.

Runs only where the optional extra is installed (``pip install -e ".[test,inception]"``; on the CPU
test machines that means torch 2.14.1 with torchvision 0.29.1, see README). The published FID
weights download from GitHub, which these machines cannot reach, so the network gets a weights file
written here: the real architecture with seeded random weights. What is checked holds for any
weights: that the file given as ``weights_path`` is the one loaded, and that FD and KID computed
through :class:`FeatureDistance` equal torch-fidelity's ``calculate_metrics`` on the same images.
"""

from pathlib import Path

import pytest
import torch
from torch import Tensor
from torch.utils.data import Dataset

from lightning_gan.metrics import FeatureDistance, InceptionFeatures

fidelity_extractor = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
torch_fidelity = pytest.importorskip("torch_fidelity")

N = 24  # samples per side; FID's covariances are rank N - 1, the same in both implementations


class _RandomInception(fidelity_extractor.FeatureExtractorInceptionV3):
    """torch-fidelity's Inception-v3 that keeps its seeded initialisation instead of loading weights."""

    def load_state_dict(self, state_dict: dict, strict: bool = True, assign: bool = False) -> None:
        """Ignore the (empty) file it is built from."""


def write_weights(path: Path, seed: int) -> Path:
    """Save a state dict of torch-fidelity's Inception-v3 with weights drawn from ``seed``.

    Convolutions get He-normal weights, std = √(2 / fan_in), which keep the activations' scale
    through the ReLU layers; with PyTorch's default initialisation the 2048 features come out almost
    equal for every image and both distances near 0.
    """
    empty = path.with_suffix(".empty")
    torch.save({}, empty)
    torch.manual_seed(seed)
    network = _RandomInception("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    for module in network.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(network.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_weights(tmp_path_factory.mktemp("inception") / "inception.pth", seed=0)


def byte_images(seed: int, channels: int, shift: int) -> Tensor:
    """``(N, channels, 32, 32)`` uint8 images: smooth random blobs plus noise, brightened by ``shift``."""
    generator = torch.Generator().manual_seed(seed)
    low = torch.rand(N, channels, 4, 4, generator=generator)
    blobs = torch.nn.functional.interpolate(low, size=32, mode="bilinear", align_corners=False)
    noise = torch.rand(N, channels, 32, 32, generator=generator) * 0.2
    return ((blobs * 0.8 + noise) * 200 + shift).round().clamp(0, 255).to(torch.uint8)


def as_samples(images: Tensor) -> Tensor:
    """uint8 images → samples in [-1, 1] that InceptionFeatures maps back to the same bytes exactly."""
    return images.double() / 127.5 - 1


class Images(Dataset):
    """What torch-fidelity reads: one ``(3, H, W)`` uint8 image per item."""

    def __init__(self, images: Tensor) -> None:
        self.images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> Tensor:
        return self.images[index]


def test_the_weights_file_given_is_the_one_loaded(weights: Path, tmp_path: Path) -> None:
    extractor = InceptionFeatures(weights_path=weights)
    saved = torch.load(weights)
    loaded = extractor.network.state_dict()
    # torchmetrics' NoTrainInceptionV3 is torch-fidelity's class: the same keys, every tensor as saved.
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[key], saved[key]) for key in saved)
    samples = as_samples(byte_images(seed=1, channels=3, shift=0))
    features = extractor(samples)
    assert features.shape == (N, 2048) and features.dtype == torch.float64
    other = InceptionFeatures(weights_path=write_weights(tmp_path / "other.pth", seed=1))
    assert not torch.allclose(other(samples), features)


@pytest.mark.parametrize("channels", [1, 3], ids=["grey", "rgb"])
def test_fd_and_kid_equal_torch_fidelity_on_the_same_images(weights: Path, channels: int) -> None:
    real, fake = (
        byte_images(seed=2, channels=channels, shift=0),
        byte_images(seed=3, channels=channels, shift=40),
    )
    distance = FeatureDistance(
        InceptionFeatures(weights_path=weights),
        as_samples(real),
        n_generated=N,
        kid_subset_size=N,
        kid_subsets=2,
    )
    distance.update(as_samples(fake))
    ours = distance.compute()
    reference = torch_fidelity.calculate_metrics(
        input1=Images(fake),
        input2=Images(real),
        fid=True,
        kid=True,
        kid_subsets=2,
        kid_subset_size=N,  # whole sets: KID no longer depends on which subsets either side draws
        feature_extractor_weights_path=str(weights),
        cuda=False,
        batch_size=N,
        cache=False,
        save_cpu_ram=True,  # read the images in this process, without DataLoader workers
        verbose=False,
    )
    fid = reference["frechet_inception_distance"]
    kid = reference["kernel_inception_distance_mean"]
    assert fid > 0 and kid > 0
    # FD: torch-fidelity takes sqrtm(Σ_r Σ_g) with scipy, torchmetrics from eigenvalues; both float64.
    assert ours["fd"].item() == pytest.approx(fid, rel=1e-3)
    assert ours["kid"].item() == pytest.approx(kid, rel=1e-3)
