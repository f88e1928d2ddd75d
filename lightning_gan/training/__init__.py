"""The GAN's collaborators: one concern each, with ``state_dict``/``load_state_dict``, no Trainer needed."""

from lightning_gan.training.clock import IterationClock
from lightning_gan.training.guard import Network, UpdateGuard
from lightning_gan.training.log_window import LogWindow
from lightning_gan.training.run_state import RunState

__all__ = ["IterationClock", "LogWindow", "Network", "RunState", "UpdateGuard"]
