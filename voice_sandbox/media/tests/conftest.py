"""Helpers shared by the media tests (no database, no network)."""

from __future__ import annotations

import numpy as np
import pytest

from voice_sandbox.media.frames import SAMPLE_RATE, Int16Array


def energy(samples: np.ndarray) -> float:
    """Mean power of int16 samples (float)."""
    data = np.asarray(samples, dtype=np.float64)
    return float(np.mean(data * data)) if data.size else 0.0


def fundamental_hz(samples: Int16Array) -> float:
    """Median pitch of the louder 40 % of 40 ms frames, by autocorrelation (60-400 Hz)."""
    data = samples.astype(np.float64)
    frames = data[: data.shape[0] // 640 * 640].reshape(-1, 640)
    power = (frames**2).mean(axis=1)
    estimates = []
    for frame in frames[power > np.percentile(power, 60)]:
        frame = frame - frame.mean()
        corr = np.correlate(frame, frame, "full")[639:]
        low, high = SAMPLE_RATE // 400, SAMPLE_RATE // 60
        estimates.append(SAMPLE_RATE / (low + int(np.argmax(corr[low:high]))))
    return float(np.median(estimates))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)
