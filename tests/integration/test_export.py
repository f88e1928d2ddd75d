"""Exporting the generator, and checkpoints used from another project in a fresh process."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from lightning_gan.ema import GeneratorEMA
from lightning_gan.export import export_generator, load_generator
from tests.helpers import quiet_trainer, tiny_gan, tiny_mixture


def test_exported_generator_samples_like_the_gan_in_a_fresh_process(tmp_path):
    gan = tiny_gan(ema=GeneratorEMA(decay=0.5), max_iterations=4)
    quiet_trainer(limit_val_batches=0).fit(gan, tiny_mixture())
    path = export_generator(gan, tmp_path / "generator.pt")
    assert gan.generator.training  # exporting left the GAN as it was
    z = torch.randn(8, gan.latent_dim)
    torch.save(z, tmp_path / "z.pt")
    expected = gan.sample(8, z=z)  # the EMA generator, in eval mode
    assert not torch.equal(expected, gan.generator.eval()(z))  # so the export must be G_ema, not G
    script = textwrap.dedent(
        f"""
        import torch
        from lightning_gan.export import load_generator
        generator = load_generator({str(path)!r})
        torch.save(generator(torch.load({str(tmp_path / "z.pt")!r})), {str(tmp_path / "out.pt")!r})
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert torch.equal(torch.load(tmp_path / "out.pt"), expected)
    assert path.stat().st_size < 100_000


def test_loading_something_else_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a generator exported by lightning_gan.export"):
        load_generator(tmp_path / "other.pt")


def test_subclass_from_another_project_loads_its_checkpoint_in_a_fresh_process(tmp_path):
    project = tmp_path / "my_project"
    project.mkdir()
    (project / "__init__.py").write_text("")
    (project / "gans.py").write_text(
        textwrap.dedent(
            """
            import torch
            from lightning_gan import GAN

            class UniformGAN(GAN):
                def sample_latent(self, n):
                    return torch.rand(n, self.latent_dim, device=self.device) * 2 - 1
            """
        )
    )
    train = textwrap.dedent(
        f"""
        import torch
        from lightning import Trainer
        from lightning_gan.data import GaussianMixtureDataModule
        from lightning_gan.nets import MLPDiscriminator, MLPGenerator
        from my_project.gans import UniformGAN
        gan = UniformGAN(MLPGenerator(latent_dim=3), MLPDiscriminator(), max_iterations=3)
        trainer = Trainer(accelerator="cpu", max_epochs=-1, logger=False, enable_progress_bar=False,
                          limit_val_batches=0, default_root_dir={str(tmp_path)!r})
        trainer.fit(gan, GaussianMixtureDataModule(n_samples=512, batch_size=64))
        trainer.save_checkpoint({str(tmp_path / "gan.ckpt")!r})
        torch.save(gan.generator.state_dict(), {str(tmp_path / "g.pt")!r})
        """
    )
    load = textwrap.dedent(
        f"""
        import torch
        from my_project.gans import UniformGAN
        gan = UniformGAN.load_from_checkpoint({str(tmp_path / "gan.ckpt")!r}, weights_only=False)
        assert type(gan).__name__ == "UniformGAN" and gan.iteration == 3
        z = gan.sample_latent(1000)
        assert z.min() >= -1 and z.max() <= 1  # the subclass's hook, not N(0, I)
        expected = torch.load({str(tmp_path / "g.pt")!r})
        assert all(torch.equal(expected[k], v) for k, v in gan.generator.state_dict().items())
        """
    )
    env = os.environ | {"PYTHONPATH": str(tmp_path)}
    for script in (train, load):
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr[-3000:]
