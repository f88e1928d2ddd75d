import pytest
import torch

from lightning_gan.data import DigitsDataModule
from lightning_gan.data.digits import digits_tensors


@pytest.mark.parametrize("size", [8, 16, 32])
def test_shapes_range_labels(size):
    dm = DigitsDataModule(image_size=size, batch_size=32)
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (32, 1, size, size) and dm.sample_shape == (1, size, size)
    assert y.dtype == torch.long and set(y.tolist()) <= set(range(10))
    images = dm.train_set.tensors[0]
    assert images.min() == -1.0 and images.max() == 1.0
    assert len(dm.train_set) + len(dm.val_set) == 1797 and len(dm.val_set) == 180


def test_the_shipped_digits_are_scikit_learns_in_order():
    from sklearn.datasets import load_digits  # the reference: scikit-learn is a test dependency only

    digits = load_digits()
    images, labels = digits_tensors(8)
    assert torch.equal((images[:, 0] + 1) * 8, torch.as_tensor(digits.images, dtype=torch.float32))
    assert torch.equal(labels, torch.as_tensor(digits.target))


def test_native_values_are_sklearn_pixels():
    from sklearn.datasets import load_digits

    dm = DigitsDataModule(image_size=8, val_fraction=0.0)
    dm.setup("fit")
    pixels = torch.as_tensor(load_digits().images, dtype=torch.float32)
    images, _ = dm.train_set.tensors
    assert torch.equal(
        torch.sort(((images[:, 0] + 1) * 8).flatten()).values, torch.sort(pixels.flatten()).values
    )


def test_split_is_seeded_and_disjoint():
    a, b, c = DigitsDataModule(seed=1), DigitsDataModule(seed=1), DigitsDataModule(seed=2)
    for dm in (a, b, c):
        dm.setup("fit")
    assert torch.equal(a.val_set.tensors[0], b.val_set.tensors[0])
    assert not torch.equal(a.val_set.tensors[0], c.val_set.tensors[0])
    train = {tuple(t.flatten().tolist()) for t in a.train_set.tensors[0]}
    overlap = sum(tuple(t.flatten().tolist()) in train for t in a.val_set.tensors[0])
    assert overlap <= 2  # sklearn's digits contain a handful of exact duplicates, nothing more


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_size": 12}, "image_size must be 8, 16 or 32"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"batch_size": 5000}, "batch_size must be in"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DigitsDataModule(**kwargs)


def test_validation_reports_digits_fd_kid_and_class_coverage_without_checkpointing_them(tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint

    from lightning_gan import GAN
    from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator
    from tests.helpers import quiet_trainer

    gan = GAN(
        DCGANGenerator(latent_dim=8, image_size=8, channels=1, base_channels=8),
        DCGANDiscriminator(image_size=8, channels=1, base_channels=8),
        max_iterations=3,
    )
    checkpoint = ModelCheckpoint(dirpath=tmp_path, filename="last")
    trainer = quiet_trainer(enable_checkpointing=True, callbacks=[checkpoint])
    trainer.fit(gan, DigitsDataModule(image_size=8, batch_size=32, kid_subset_size=50))
    logged = trainer.callback_metrics
    keys = (
        "val/fd",
        "val/kid",
        "val/kid_std",
        "val/classes",
        "val/class_kl",
        "val/confidence",
        "val/inception_score",
    )
    for key in keys:
        assert torch.isfinite(logged[key]), key
    assert logged["val/fd"] > 0 and 1 <= logged["val/classes"] <= 10
    assert 1 - 1e-9 <= logged["val/inception_score"] <= 10
    state = torch.load(tmp_path / "last.ckpt", weights_only=False)["state_dict"]
    assert not [key for key in state if key.startswith("evaluation")]


def test_kid_subset_larger_than_the_validation_split_is_rejected():
    with pytest.raises(ValueError, match=r"kid_subset_size must be in \[2, .*180\], got 500"):
        DigitsDataModule(kid_subset_size=500).val_metrics()
