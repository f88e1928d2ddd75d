import torch

from lightning_gan.training import LogWindow


def test_means_are_per_key_and_the_window_empties():
    window = LogWindow()
    d_losses, g_losses = [1.0, 2.0, 6.0, 3.0], [5.0, 7.0]
    for i, d in enumerate(d_losses):  # k = 2: two D values per G value
        window.add({"d_loss": torch.tensor(d)})
        if i % 2:
            window.add({"g_loss": torch.tensor(g_losses[i // 2])})
    means = window.means()
    assert means == {"d_loss": torch.tensor(3.0), "g_loss": torch.tensor(6.0)}
    assert window.means() == {}


def test_values_are_detached():
    window = LogWindow()
    x = torch.ones((), requires_grad=True)
    window.add({"a": x * 2})
    assert not window.means()["a"].requires_grad


def test_state_round_trip_gives_the_same_means():
    window = LogWindow()
    window.add({"a": torch.tensor(1.0)})
    restored = LogWindow()
    restored.load_state_dict(window.state_dict())
    for w in (window, restored):
        w.add({"a": torch.tensor(4.0)})
    assert restored.means() == window.means() == {"a": torch.tensor(2.5)}
