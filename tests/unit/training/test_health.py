import math

import pytest
import torch

from lightning_gan.training.health import HealthMonitor, diversity

HEALTHY = {"train/d_real": 0.6, "train/d_fake": 0.4, "train/grad_norm_g": 1.0, "train/grad_norm_d": 2.0}


def signals(problems):
    return [problem.signal for problem in problems]


def test_diversity_is_the_ratio_of_mean_feature_stds():
    real = torch.tensor([[0.0, 0.0], [2.0, 4.0], [4.0, 8.0]])  # stds 2 and 4: mean 3
    fake = torch.tensor([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])  # stds 0 and 1: mean 0.5
    assert diversity(fake, real) == pytest.approx(0.5 / 3)
    assert diversity(real, real) == pytest.approx(1.0)
    assert diversity(fake, torch.ones(4, 2)) == math.inf


def test_a_collapsed_generator_has_near_zero_diversity_on_images():
    real = torch.rand(64, 1, 8, 8)
    collapsed = real[:1].expand(64, -1, -1, -1) + 1e-3 * torch.randn(64, 1, 8, 8)
    assert diversity(collapsed, real) < 0.01
    assert diversity(torch.rand(64, 1, 8, 8), real) == pytest.approx(1.0, abs=0.15)


def test_healthy_windows_raise_nothing():
    monitor = HealthMonitor()
    for _ in range(30):
        assert monitor.check_window(HEALTHY | {"train/skipped_steps": 0.0}, updates=100, spread=0.9) == []


@pytest.mark.parametrize(
    ("d_real", "d_fake", "fires"), [(0.995, 0.005, True), (0.995, 0.02, False), (0.98, 0.005, False)]
)
def test_saturation_needs_both_scores_beyond_the_threshold(d_real, d_fake, fires):
    problems = HealthMonitor(saturation=0.99).check_window(
        {"train/d_real": d_real, "train/d_fake": d_fake}, 100
    )
    assert signals(problems) == (["saturation"] if fires else [])


def test_gradient_explosion_is_judged_against_the_median_of_healthy_windows():
    monitor = HealthMonitor(grad_norm_ratio=10.0, history=4, min_history=3)
    norms = [1.0, 3.0]
    for norm in norms:  # fewer than min_history windows: not judged, even when huge
        assert monitor.check_window({"train/grad_norm_d": norm}, 100) == []
    assert monitor.check_window({"train/grad_norm_d": 1000.0}, 100) == []  # third window, still unjudged
    # reference now [1, 3, 1000]: median 3, limit 30
    assert monitor.check_window({"train/grad_norm_d": 29.0}, 100) == []
    # reference [1, 3, 1000, 29] → history 4: median (3 + 29) / 2 = 16, limit 160
    assert monitor.check_window({"train/grad_norm_d": 159.0}, 100) == []
    # the oldest dropped: [3, 1000, 29, 159]: median 94, limit 940
    problems = monitor.check_window({"train/grad_norm_d": 941.0}, 100)
    assert signals(problems) == ["grad_norm"] and "D's gradient norm 941" in problems[0].message
    assert monitor.norms["d"] == [
        3.0,
        1000.0,
        29.0,
        159.0,
    ]  # an unhealthy window leaves the reference as it was


def test_a_non_finite_gradient_norm_is_an_explosion_at_once():
    assert signals(HealthMonitor().check_window({"train/grad_norm_g": math.inf}, 100)) == ["grad_norm"]
    assert signals(HealthMonitor().check_window({"train/grad_norm_g": math.nan}, 100)) == ["grad_norm"]


def test_skipped_steps_are_counted_per_window_from_the_running_total():
    monitor = HealthMonitor(max_skipped_fraction=0.25)
    assert monitor.check_window({"train/skipped_steps": 25.0}, updates=100) == []  # 25 of 100: allowed
    assert monitor.check_window({"train/skipped_steps": 40.0}, updates=100) == []  # 15 new
    problems = monitor.check_window({"train/skipped_steps": 66.0}, updates=100)  # 26 new
    assert signals(problems) == ["skipped_steps"] and problems[0].message.startswith("26 of 100")


def test_low_diversity_fires_below_the_threshold_only():
    monitor = HealthMonitor(min_diversity=0.1)
    assert monitor.check_window({}, 100, spread=0.1) == []
    assert signals(monitor.check_window({}, 100, spread=0.09)) == ["diversity"]


@pytest.mark.parametrize(
    ("mode", "values", "fires_at"),
    [
        ("min", [10.0, 8.0, 11.9, 12.1, 7.0], [3]),  # best 8: limit 12
        ("max", [10.0, 20.0, 10.1, 9.9, 25.0], [3]),  # best 20: limit 10
    ],
)
def test_validation_metric_regression_is_relative_to_the_best_so_far(mode, values, fires_at):
    monitor = HealthMonitor(metric="val/x", mode=mode, tolerance=0.5)
    fired = [i for i, value in enumerate(values) if monitor.check_validation({"val/x": value, "val/y": 0.0})]
    assert fired == fires_at
    assert monitor.best == values[-1]


def test_validation_without_the_metric_or_without_a_metric_is_not_judged():
    assert HealthMonitor(metric="val/fid").check_validation({"val/modes": 3.0}) == []
    assert HealthMonitor().check_validation({"val/fid": 3.0}) == []


def test_state_round_trip_keeps_the_reference_and_the_best():
    monitor = HealthMonitor(metric="val/x", min_history=1)
    monitor.check_window({"train/grad_norm_g": 2.0, "train/skipped_steps": 5.0}, 100)
    monitor.check_validation({"val/x": 4.0})
    restored = HealthMonitor(metric="val/x", min_history=1)
    restored.load_state_dict(monitor.state_dict())
    assert restored.norms == {"g": [2.0]} and restored.skipped_before == 5.0 and restored.best == 4.0
    assert signals(restored.check_window({"train/grad_norm_g": 21.0, "train/skipped_steps": 5.0}, 100)) == [
        "grad_norm"
    ]


def test_out_of_range_thresholds_are_named_with_what_is_accepted():
    with pytest.raises(ValueError, match=r"saturation=0\.3 \(accepted: in \(0\.5, 1\]\); mode='best'"):
        HealthMonitor(saturation=0.3, mode="best")
