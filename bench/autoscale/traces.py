"""Seeded arrival-rate traces for B2: diurnal, bursts, flash crowd, ramp.

Each returns λ per second of simulated time; arrivals are drawn from it as a
non-homogeneous Poisson process by :func:`roost.replay.trace.arrivals`.
"""

from __future__ import annotations

import math

import numpy as np

from roost.replay.trace import arrivals

__all__ = ["TRACES", "arrivals", "bursts", "diurnal", "flash_crowd", "ramp"]

DURATION_SECONDS = 2700  # 45 minutes of simulated time per run


def _mmpp_overlay(rng: np.random.Generator, n: int, factor: float, mean_burst: float) -> np.ndarray:
    """A 2-state burst overlay: bursts of mean ``mean_burst`` s about every 10 minutes."""
    out = np.ones(n)
    t = float(rng.exponential(600.0))
    while t < n:
        length = float(rng.exponential(mean_burst))
        out[int(t) : int(t + length)] = factor
        t += length + float(rng.exponential(600.0))
    return out


def diurnal(rng: np.random.Generator, n: int = DURATION_SECONDS) -> np.ndarray:
    """A 24 h cycle compressed into the run (trough 8, peak 32 req/s), with 3x bursts."""
    t = np.arange(n)
    phase = float(rng.uniform(0, 2 * math.pi))
    base = 20.0 + 12.0 * np.sin(2 * math.pi * t / n + phase)
    overlay: np.ndarray = _mmpp_overlay(rng, n, 3.0, 60.0)
    return np.asarray(base * overlay)


def bursts(rng: np.random.Generator, n: int = DURATION_SECONDS) -> np.ndarray:
    """A steady 15 req/s with 4x bursts of about 2 minutes."""
    return 15.0 * _mmpp_overlay(rng, n, 4.0, 120.0)


def flash_crowd(rng: np.random.Generator, n: int = DURATION_SECONDS) -> np.ndarray:
    """10 req/s, then x5 within 30 s for 15 minutes (metrics-server#763's step)."""
    start = int(rng.uniform(600, 900))
    rate = np.full(n, 10.0)
    ramp = np.linspace(10.0, 50.0, 30)
    rate[start : start + 30] = ramp
    rate[start + 30 : start + 930] = 50.0
    return rate


def ramp(rng: np.random.Generator, n: int = DURATION_SECONDS) -> np.ndarray:
    """From 5 to 60 req/s over the run, with ±10 % noise per minute."""
    noise = np.repeat(rng.uniform(0.9, 1.1, size=n // 60 + 1), 60)[:n]
    return np.linspace(5.0, 60.0, n) * noise


TRACES = {"diurnal": diurnal, "bursts": bursts, "flash crowd": flash_crowd, "ramp": ramp}
