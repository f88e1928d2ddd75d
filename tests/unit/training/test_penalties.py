import pytest
import torch
from torch import nn

from lightning_gan.regularizers import R1Penalty, Regularizer, WeightClipping
from lightning_gan.training.penalties import Penalties


class Constant(Regularizer):
    name = "constant"

    def __init__(self, value: float, every: int = 1, network: str = "discriminator") -> None:
        super().__init__(every)
        self.value, self.network = value, network

    def penalty(self, discriminate, real, fake):
        return torch.tensor(self.value)


def test_due_penalties_follow_the_network_and_the_lazy_interval():
    lazy, g_side = Constant(2.0, every=4), Constant(5.0, network="generator")
    g_side.name = "g_constant"
    penalties = Penalties([lazy, g_side])
    x = torch.zeros(3, 2)
    built = []

    def scorer():
        built.append(1)
        return "D"

    due = {u: penalties.due("discriminator", u, scorer, x, x) for u in range(9)}
    assert [u for u, p in due.items() if p] == [0, 4, 8]
    assert len(built) == 3  # D is wrapped for the penalty only on the updates where one is due
    assert penalties.due("generator", 1, scorer, x, x) == {"g_constant": torch.tensor(5.0)}


@pytest.mark.parametrize("n", [1, 3])
def test_total_counts_a_lazy_penalty_every_times_and_divides_by_n(n):
    penalties = Penalties([Constant(2.0, every=4)])
    total = penalties.total(torch.tensor(1.0), {"constant": torch.tensor(2.0)}, n)
    assert total == pytest.approx((1.0 + 4 * 2.0) / n)
    assert penalties.total(torch.tensor(1.5), {}, 1) == 1.5


def test_after_step_changes_only_its_own_network():
    clip = WeightClipping(clip=0.1)
    penalties = Penalties([clip])
    net = nn.Linear(2, 2)
    nn.init.constant_(net.weight, 3.0)
    penalties.after_step("generator", net)
    assert net.weight.max().item() == 3.0
    penalties.after_step("discriminator", net)
    assert net.weight.max().item() == pytest.approx(0.1)


def test_two_regularizers_with_one_name_are_refused():
    with pytest.raises(ValueError, match=r"distinct names .* got \['r1_penalty', 'r1_penalty'\]"):
        Penalties([R1Penalty(), R1Penalty(gamma=1.0)])
