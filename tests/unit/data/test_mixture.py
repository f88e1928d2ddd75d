import pytest
import torch

from lightning_gan.data import GaussianMixtureDataModule


def test_pacgan_defaults():
    grid = GaussianMixtureDataModule(layout="grid")
    assert grid.n_modes == 25 and grid.std == 0.05
    assert sorted({round(v, 6) for v in grid.centers[:, 0].tolist()}) == [-4, -2, 0, 2, 4]
    ring = GaussianMixtureDataModule(layout="ring")
    assert ring.n_modes == 8 and ring.std == 0.01
    assert torch.allclose(ring.centers.norm(dim=1), torch.ones(8))


def test_batches_shapes_and_statistics():
    dm = GaussianMixtureDataModule(layout="grid", n_samples=20_000, batch_size=128)
    dm.setup("fit")
    x, mode = next(iter(dm.train_dataloader()))
    assert x.shape == (128, 2) and mode.shape == (128,) and dm.sample_shape == (2,)
    all_x, all_mode = dm.train_set.tensors
    offsets = all_x - dm.centers[all_mode]
    assert offsets.std().item() == pytest.approx(0.05, rel=0.03)
    counts = torch.bincount(all_mode, minlength=25).float()
    assert (counts / counts.mean() - 1).abs().max() < 0.15  # equal weights
    assert len(dm.val_set) == 2500
    assert not torch.equal(dm.val_set.tensors[0][:10], all_x[:10])  # val drawn separately


def test_drop_last_and_val_batches():
    dm = GaussianMixtureDataModule(
        layout="ring", n_samples=1000, batch_size=300, n_val_samples=250, val_batch_size=100
    )
    dm.setup("fit")
    assert [len(x) for x, _ in dm.train_dataloader()] == [300, 300, 300]
    assert [len(x) for x, _ in dm.val_dataloader()] == [100, 100, 50]


def test_seeded():
    a, b = GaussianMixtureDataModule(seed=3), GaussianMixtureDataModule(seed=3)
    assert torch.equal(a.draw(10, 3)[0], b.draw(10, 3)[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"layout": "spiral"}, "layout must be one of"),
        ({"n_modes": 0}, "n_modes for the grid layout must be a perfect square"),
        ({"n_modes": 10}, "perfect square"),
        ({"layout": "ring", "n_modes": 0}, "n_modes for the ring layout must be >= 1"),
        ({"std": -0.1}, "std and scale must be > 0"),
        ({"n_samples": 10, "batch_size": 64}, "batch_size <= n_samples"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureDataModule(**kwargs)
