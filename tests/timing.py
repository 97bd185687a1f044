"""Timing helpers for the linear-time tests of the link detector and the normaliser."""

import gc
import time

N = 100_000  # characters; the 4n run is 400,000 characters, enough for a quadratic step to show as ~16x
MAX_RATIO = 8.0  # time(4n) / time(n); linear is ~4
FLOOR = 0.002  # below this a run is timer and GC noise; ratios are taken against at least this


def sized(unit: str, n: int) -> str:
    """``unit`` repeated to exactly ``n`` characters."""
    return (unit * (n // len(unit) + 1))[:n]


def run_time(func, text: str) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        func(text)
        return time.perf_counter() - start
    finally:
        gc.enable()


def best_of_three(func, text: str) -> float:
    gc.collect()
    return min(run_time(func, text) for _ in range(3))


def assert_linear(small: float, large: float) -> None:
    """Time on 4n characters within MAX_RATIO of the time on n (linear is about 4)."""
    assert large <= MAX_RATIO * max(small, FLOOR), f"n: {small:.3f}s, 4n: {large:.3f}s"


def assert_linear_retried(measure, attempts: int = 3) -> None:
    """``assert_linear`` on ``measure()`` (which returns the times on n and 4n), measured again up to
    ``attempts`` times: a shared machine can stall one run, but a quadratic step fails every time."""
    for attempt in range(attempts):
        small, large = measure()
        if large <= MAX_RATIO * max(small, FLOOR) or attempt == attempts - 1:
            assert_linear(small, large)
            return
