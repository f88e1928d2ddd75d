import pytest

from lightning_gan.training import IterationClock


def run(clock: IterationClock, batches: int, batch_size: int = 8) -> list[str]:
    """Drive the clock as GAN.training_step does; record what each batch completed."""
    events = []
    for _ in range(batches):
        if not clock.end_micro_batch():
            events.append("micro")
            continue
        if not clock.end_d_update():
            events.append("D")
            continue
        clock.end_iteration(batch_size * clock.accumulate)
        events.append("D+G")
    return events


@pytest.mark.parametrize(("k", "n"), [(1, 1), (2, 1), (1, 3), (3, 2)])
def test_an_iteration_is_k_times_n_batches_with_g_after_the_kth_d_update(k, n):
    clock = IterationClock(k=k, accumulate=n)
    events = run(clock, 4 * k * n)
    one_iteration = (["micro"] * (n - 1) + ["D"]) * (k - 1) + ["micro"] * (n - 1) + ["D+G"]
    assert events == one_iteration * 4
    assert (clock.iteration, clock.d_steps, clock.micro_batch) == (4, 0, 0)
    assert clock.images_seen == 4 * 8 * n


def test_d_update_counts_over_the_run_and_micro_batch_flags():
    clock = IterationClock(k=3, accumulate=2)
    seen = []
    for _ in range(12):  # two iterations
        seen.append((clock.d_update, clock.first_micro_batch, clock.last_micro_batch))
        run(clock, 1)
    assert [d for d, _, _ in seen] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [(f, last) for _, f, last in seen[:2]] == [(True, False), (False, True)]


def test_logging_windows_and_the_end():
    clock = IterationClock(max_iterations=3)
    assert [clock.closes_window(2) for clock.iteration in range(4)] == [False, True, False, True]
    assert not clock.closes_window(0)
    assert all(clock.closes_window(1) for clock.iteration in range(4))  # a window per iteration
    clock.iteration = 2
    assert not clock.finished
    clock.iteration = 3
    assert clock.finished
    assert not IterationClock().finished


def test_state_round_trip_continues_mid_iteration():
    clock = IterationClock(k=2, accumulate=2)
    run(clock, 7)  # 1 iteration and 3 batches of the next
    restored = IterationClock(k=2, accumulate=2)
    restored.load_state_dict(clock.state_dict())
    assert run(restored, 5) == run(clock, 5) == ["D+G", "micro", "D", "micro", "D+G"]
    assert restored.state_dict() == clock.state_dict()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, r"d_steps_per_g_step \(Algorithm 1's k\) must be >= 1, got 0"),
        ({"accumulate": 0}, "accumulate_grad_batches must be >= 1, got 0"),
        ({"max_iterations": 0}, "max_iterations must be >= 1 or None, got 0"),
    ],
)
def test_bad_counts_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IterationClock(**kwargs)


def test_defaults_are_one_d_update_of_one_batch_per_iteration_without_an_end():
    clock = IterationClock()
    assert (clock.k, clock.accumulate, clock.max_iterations) == (1, 1, None)
