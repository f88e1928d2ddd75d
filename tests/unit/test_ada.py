import pytest
import torch

from lightning_gan.ada import AdaptiveAugment


def images(n: int = 8) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_p_zero_and_eval_mode_leave_images_untouched():
    x = images()
    assert torch.equal(AdaptiveAugment(initial_p=0.0)(x), x)
    assert torch.equal(AdaptiveAugment(initial_p=1.0).eval()(x), x)


@pytest.mark.parametrize("p", [0.25, 0.5, 1.0])
def test_each_operation_hits_each_sample_with_probability_p(p):
    torch.manual_seed(0)
    x = images(4000)
    changed = (AdaptiveAugment(policy="color", initial_p=p)(x) != x).flatten(1).any(dim=1)
    assert changed.float().mean().item() == pytest.approx(p, abs=0.03)  # binomial std <= 0.008


def test_augmentation_is_differentiable():
    x = images().requires_grad_()
    AdaptiveAugment(policy="color,translation", initial_p=1.0)(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_p_moves_by_the_sign_of_rt_minus_target_every_interval():
    ada = AdaptiveAugment(target=0.6, speed_images=1000, interval=2)
    confident = torch.tensor([3.0, 1.0, 2.0, 0.5])  # r_t = 1 > 0.6
    ada.observe(confident)
    ada.adjust()
    assert ada.p.item() == 0.0  # first of two updates: not yet
    ada.observe(confident)
    ada.adjust()
    assert ada.p.item() == pytest.approx(8 / 1000)  # 8 reals seen: p += 8 / speed
    assert ada.sign_sum.item() == 0 and ada.seen.item() == 0
    for _ in range(2):  # r_t = (1 - 1 + 1 - 1) / 4 = 0 < 0.6: p falls by 8 / speed
        out = ada.observe(torch.tensor([1.0, -1.0, 2.0, -2.0]))
        ada.adjust()
    assert ada.p.item() == pytest.approx(0.0, abs=1e-7)
    assert out["ada_rt"].item() == 0.0 and out["ada_p"].item() == pytest.approx(8 / 1000)


def test_p_stays_within_zero_and_max_p():
    ada = AdaptiveAugment(speed_images=4, interval=1, max_p=0.7)
    for _ in range(3):
        ada.observe(torch.ones(4))
        ada.adjust()
    assert ada.p.item() == pytest.approx(0.7)
    for _ in range(3):
        ada.observe(-torch.ones(4))
        ada.adjust()
    assert ada.p.item() == 0.0


def test_the_sums_are_reduced_over_ranks_before_the_step():
    ada = AdaptiveAugment(speed_images=100, interval=1)
    seen = []

    def two_ranks(t):  # another rank with the same counts
        seen.append(t.clone())
        return 2 * t

    ada.observe(torch.tensor([1.0, 1.0, 1.0]))
    ada.adjust(two_ranks)
    assert torch.equal(seen[0], torch.tensor([3.0, 3.0]))  # Σ sign, reals seen
    assert ada.p.item() == pytest.approx(6 / 100)  # r_t = 6 / 6 > 0.6: p += 6 reals / speed


def test_state_round_trip_continues_the_same_adjustments():
    ada = AdaptiveAugment(speed_images=100, interval=3, initial_p=0.5)
    for _ in range(2):
        ada.observe(torch.tensor([1.0, 2.0]))
        ada.adjust()
    restored = AdaptiveAugment(speed_images=100, interval=3)
    restored.load_state_dict(ada.state_dict())
    assert restored.updates == 2 and restored.p.item() == 0.5 and restored.seen.item() == 4
    for module in (ada, restored):
        module.observe(torch.tensor([1.0, 2.0]))
        module.adjust()
    assert restored.p.item() == ada.p.item() == pytest.approx(0.5 + 6 / 100)


def test_out_of_range_settings_are_named_with_what_is_accepted():
    with pytest.raises(ValueError, match=r"target=1\.5 \(accepted: in \[0, 1\)\); interval=0"):
        AdaptiveAugment(target=1.5, interval=0)


@pytest.mark.parametrize(
    ("kwargs", "wrong"),
    [
        ({"target": 1.0}, "target=1.0 (accepted: in [0, 1))"),
        ({"target": -0.1}, "target=-0.1 (accepted: in [0, 1))"),
        ({"speed_images": 0}, "speed_images=0 (accepted: >= 1)"),
        ({"interval": 0}, "interval=0 (accepted: >= 1)"),
        ({"max_p": 0.0}, "max_p=0.0 (accepted: in (0, 1])"),
        ({"max_p": 1.5}, "max_p=1.5 (accepted: in (0, 1])"),
        ({"initial_p": -0.1}, "initial_p=-0.1 (accepted: in [0, max_p])"),
        ({"max_p": 0.5, "initial_p": 0.6}, "initial_p=0.6 (accepted: in [0, max_p])"),
    ],
)
def test_each_out_of_range_setting_is_named_exactly(kwargs, wrong):
    with pytest.raises(ValueError) as raised:
        AdaptiveAugment(**kwargs)
    assert str(raised.value) == f"AdaptiveAugment: {wrong}"


def test_boundary_settings_are_accepted_and_defaults_are_the_papers():
    AdaptiveAugment(target=0.0, speed_images=1, interval=1, max_p=1.0, initial_p=1.0)
    AdaptiveAugment(max_p=0.5, initial_p=0.0)
    ada = AdaptiveAugment()
    # StyleGAN2-ADA: target 0.6, p from 0 to 1 over 500k images, adjusted every 4 D updates.
    assert (ada.target, ada.speed_images, ada.interval, ada.max_p, ada.p.item()) == (
        0.6,
        500_000,
        4,
        1.0,
        0.0,
    )
    assert ada.ops == ["color", "translation", "cutout"]
    assert (ada.translation_ratio, ada.cutout_ratio) == (0.125, 0.5)
    custom = AdaptiveAugment("translation", translation_ratio=0.25, cutout_ratio=0.3)
    assert (custom.ops, custom.translation_ratio, custom.cutout_ratio) == (["translation"], 0.25, 0.3)


def test_non_image_input_is_named():
    with pytest.raises(ValueError) as raised:
        AdaptiveAugment()(torch.randn(4, 2))
    assert str(raised.value) == "AdaptiveAugment works on (N, C, H, W) images, got shape (4, 2)"


def test_repr_shows_the_policy_target_and_p():
    ada = AdaptiveAugment("translation", target=0.5, initial_p=0.25)
    assert repr(ada) == "AdaptiveAugment(policy='translation', target=0.5, p=0.2500)"
