import pytest

from textcast.sending.throttle import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_a_batch_go_at_once() -> None:
    bucket = TokenBucket(100, clock=Clock())
    assert bucket.reserve(100) == 0
    assert bucket.reserve(1) == pytest.approx(0.01)


def test_a_batch_larger_than_a_second_leaves_a_debt_so_the_long_run_rate_holds() -> None:
    clock = Clock()
    bucket = TokenBucket(30, clock=clock)
    assert bucket.reserve(1000) == 0
    # The next batch waits until the debt is repaid and the bucket is full again.
    assert bucket.reserve(1000) == pytest.approx((970 + 30) / 30)
    clock.now = 1000 / 30
    assert bucket.reserve(1000) == 0
    clock.now = 2 * 1000 / 30 - 0.5
    assert bucket.reserve(1000) == pytest.approx(0.5)


def test_zero_means_unlimited() -> None:
    assert TokenBucket(0).reserve(10**9) == 0
