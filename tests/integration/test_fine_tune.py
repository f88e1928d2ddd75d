"""Fine-tuning from a checkpoint (``init_from``) with Freeze-D (``freeze_d_layers``) inside a fit."""

import torch
from lightning import Callback

from lightning_gan.ema import GeneratorEMA
from tests.helpers import quiet_trainer, snapshot, tiny_gan, tiny_mixture


class AtStart(Callback):
    """The module's weights when training starts (after ``setup`` and any restore)."""

    def on_train_start(self, trainer, pl_module) -> None:
        self.weights = snapshot(pl_module)


def test_a_fit_starts_from_the_checkpoints_networks_with_fresh_counters(tmp_path):
    torch.manual_seed(0)
    source = tiny_gan(max_iterations=6)
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(source, tiny_mixture())
    trainer.save_checkpoint(tmp_path / "source.ckpt")
    tuned = tiny_gan(max_iterations=4, ema=GeneratorEMA(decay=0.9), init_from=str(tmp_path / "source.ckpt"))
    start = AtStart()
    quiet_trainer(limit_val_batches=0, callbacks=[start]).fit(tuned, tiny_mixture())
    for key, value in source.state_dict().items():
        assert torch.equal(start.weights[key], value), key
        if key.startswith("generator."):  # the source had no G_ema: it starts as G
            assert torch.equal(start.weights["generator_ema." + key.removeprefix("generator.")], value), key
    assert tuned.iteration == 4  # its own budget, not the source's 6 + 4


def test_frozen_d_layers_keep_their_weights_and_stay_out_of_ds_optimizer():
    torch.manual_seed(0)
    gan = tiny_gan(max_iterations=5, freeze_d_layers=1)  # tiny D: net.0, net.2, net.4
    before = snapshot(gan.discriminator)
    trainer = quiet_trainer(limit_val_batches=0)
    trainer.fit(gan, tiny_mixture())
    after = gan.discriminator.state_dict()
    assert gan.frozen_d_layers == ["net.0"]
    for key in before:
        assert torch.equal(before[key], after[key]) == key.startswith("net.0."), key
    d_params = {id(p) for group in trainer.optimizers[1].param_groups for p in group["params"]}
    assert d_params == {
        id(p) for name, p in gan.discriminator.named_parameters() if not name.startswith("net.0.")
    }
