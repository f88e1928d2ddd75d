import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from PIL import Image

from lightning_gan import GAN
from lightning_gan.callbacks import SampleGrid, run_dir
from lightning_gan.data import DigitsDataModule
from lightning_gan.nets import DCGANDiscriminator, DCGANGenerator
from tests.helpers import quiet_trainer, tiny_gan, tiny_mixture


def test_image_grid_png_and_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    gan = GAN(
        DCGANGenerator(8, image_size=8, channels=1, base_channels=4),
        DCGANDiscriminator(8, 1, 4),
        max_iterations=4,
    )
    grid = SampleGrid(n_samples=10, nrow=5)
    logger = TensorBoardLogger(tmp_path, name="tb")
    trainer = quiet_trainer(
        logger=logger, callbacks=[grid], val_check_interval=2, check_val_every_n_epoch=None
    )
    trainer.fit(gan, DigitsDataModule(image_size=8, batch_size=16))
    pngs = sorted((run_dir(trainer) / "samples").glob("*.png"))
    assert [p.name for p in pngs] == ["iter_0000002.png", "iter_0000004.png"]
    picture = np.asarray(Image.open(pngs[-1]))
    assert (
        picture.shape == (2 * 10 + 2, 5 * 10 + 2) and picture.dtype == np.uint8
    )  # 2 rows × 5 of 8px + 2px padding
    events = EventAccumulator(logger.log_dir, size_guidance={"images": 0})
    events.Reload()
    assert [e.step for e in events.Images("val/samples")] == [2, 4]  # iterations, one axis with the scalars


def test_fixed_noise_is_fixed_and_saved():
    gan = tiny_gan()
    grid = SampleGrid(n_samples=6, seed=3)
    first = grid.fixed_noise(gan).clone()
    torch.manual_seed(0)
    torch.randn(100)
    assert torch.equal(grid.fixed_noise(gan), first)
    state = grid.state_dict()
    restored = SampleGrid(n_samples=6)
    restored.load_state_dict(state)
    assert torch.equal(restored.fixed_noise(gan), first)
    assert torch.equal(
        SampleGrid(n_samples=6, seed=3).fixed_noise(gan), first
    )  # global RNG untouched by draw


def test_scatter_for_2d_data():
    gan = tiny_gan(max_iterations=2)
    grid = SampleGrid(n_samples=500)
    trainer = quiet_trainer(callbacks=[grid], val_check_interval=2, check_val_every_n_epoch=None)
    trainer.fit(gan, tiny_mixture())
    picture = np.asarray(Image.open(grid.last_path))
    assert picture.shape == (384, 384, 3)
    red = (picture[:, :, 0] == 220) & (picture[:, :, 1] == 30)
    assert red.sum() >= 8 * 12  # eight center circles drawn
