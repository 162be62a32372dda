"""The conference mixer: every listener's 20 ms output frame for one tick, in one vectorised operation.

Who hears whom is an ``N x N`` boolean *hearing matrix* ``H`` (``H[i, j]``: listener ``i`` hears speaker ``j``),
built from each leg's conversation, ``mute``, ``earmuff``, ``canHear`` and ``canSpeak``; it changes only when a
leg joins, leaves or is re-configured, so :class:`Mixer` rebuilds it then, not per tick. Each tick is then
``saturate(H @ frames)``: a dense BLAS product, or a sparse one when most legs are in small conversations (the
usual case: many two-party calls). ``float32`` is exact here: a sum of up to 512 int16 samples stays below 2^24;
more speakers fall back to ``float64``.

A conversation recording is a listener like any other: add a muted leg that hears everybody.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .frames import FRAME_SAMPLES, INT16_MAX, INT16_MIN

#: Largest speaker count for which float32 sums of int16 samples are exact (512 * 32768 = 2^24).
FLOAT32_EXACT_SPEAKERS = 512
#: Below this share of non-zero entries the sparse product is used.
SPARSE_DENSITY = 0.05


@dataclass(frozen=True)
class LegMix:
    """Mixing state of one leg: its conversation and the Voice API's audio controls.

    ``can_hear`` / ``can_speak`` are leg ids (``None`` = everyone, an empty set = nobody), as the NCCO
    ``conversation`` options; ``muted`` (REST mute or NCCO ``mute``) keeps its audio out of the conversation;
    ``earmuffed`` makes it hear nothing.
    """

    leg_id: str
    conversation: str
    muted: bool = False
    earmuffed: bool = False
    can_hear: Collection[str] | None = None
    can_speak: Collection[str] | None = None


def hearing_matrix(legs: Sequence[LegMix]) -> npt.NDArray[np.bool_]:
    """``H[i, j]`` is True when leg ``i`` hears leg ``j``.

    Same conversation, ``i != j``, ``j`` not muted, ``i`` not earmuffed, ``j`` in ``i.can_hear`` (if set) and
    ``i`` in ``j.can_speak`` (if set). Vectorised over the conversation labels; the per-leg lists are applied
    as sparse row/column masks.
    """
    n = len(legs)
    index = {leg.leg_id: i for i, leg in enumerate(legs)}
    if len(index) != n:
        raise ValueError("leg ids must be unique")
    _, conversation = np.unique([leg.conversation for leg in legs], return_inverse=True)
    matrix: npt.NDArray[np.bool_] = conversation[:, None] == conversation[None, :]
    np.fill_diagonal(matrix, False)
    matrix[:, np.array([leg.muted for leg in legs], dtype=bool)] = False
    matrix[np.array([leg.earmuffed for leg in legs], dtype=bool), :] = False
    for i, leg in enumerate(legs):
        if leg.can_hear is not None:
            allowed = np.zeros(n, dtype=bool)
            allowed[[index[x] for x in leg.can_hear if x in index]] = True
            matrix[i] &= allowed
        if leg.can_speak is not None:
            allowed = np.zeros(n, dtype=bool)
            allowed[[index[x] for x in leg.can_speak if x in index]] = True
            matrix[:, i] &= allowed
    return matrix


def mix(frames: npt.ArrayLike, hearing: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Every listener's frame: ``saturate(hearing @ frames)`` for ``(N, S)`` int16 frames and an ``N x N`` matrix.

    The stateless form of :meth:`Mixer.mix` (dense product every call).
    """
    matrix = np.asarray(hearing, dtype=bool)
    data = np.asarray(frames)
    speakers = int(matrix.sum(axis=1).max()) if matrix.size else 0
    dtype = np.float32 if speakers <= FLOAT32_EXACT_SPEAKERS else np.float64
    out = matrix.astype(dtype) @ data.astype(dtype)
    return _to_int16(out)


class Mixer:
    """A mixer for a fixed set of legs: build once per change with :meth:`configure`, then :meth:`mix` per tick."""

    def __init__(self, legs: Sequence[LegMix] = ()) -> None:
        self.legs: tuple[LegMix, ...] = ()
        self.hearing: npt.NDArray[np.bool_] = np.zeros((0, 0), dtype=bool)
        self._dtype: type[np.floating] = np.float32
        self._dense: npt.NDArray[np.floating] | None = None
        self._sparse: sparse.csr_matrix | None = None
        self.configure(legs)

    @property
    def strategy(self) -> str:
        """``dense`` or ``sparse``: how :meth:`mix` multiplies."""
        return "sparse" if self._sparse is not None else "dense"

    def configure(self, legs: Sequence[LegMix]) -> None:
        """Set the legs (row order = frame order in :meth:`mix`) and rebuild the hearing matrix."""
        self.legs = tuple(legs)
        self.hearing = hearing_matrix(self.legs)
        n = len(self.legs)
        speakers = int(self.hearing.sum(axis=1).max()) if n else 0
        self._dtype = np.float32 if speakers <= FLOAT32_EXACT_SPEAKERS else np.float64
        density = float(self.hearing.mean()) if n else 0.0
        if n >= 64 and density < SPARSE_DENSITY:
            self._sparse, self._dense = sparse.csr_matrix(self.hearing, dtype=self._dtype), None
        else:
            self._dense, self._sparse = self.hearing.astype(self._dtype), None

    def index(self, leg_id: str) -> int:
        """Row of ``leg_id`` in the frame matrix."""
        for i, leg in enumerate(self.legs):
            if leg.leg_id == leg_id:
                return i
        raise KeyError(leg_id)

    def mix(self, frames: npt.ArrayLike) -> npt.NDArray[np.int16]:
        """Output frames for one tick: row ``i`` is what leg ``i`` hears (saturated to int16)."""
        data = np.asarray(frames)
        if data.shape[0] != len(self.legs):
            raise ValueError(f"expected {len(self.legs)} frames, got {data.shape[0]}")
        if not self.legs:
            return np.zeros((0, data.shape[1] if data.ndim == 2 else FRAME_SAMPLES), dtype=np.int16)
        values = data.astype(self._dtype)
        out = self._sparse @ values if self._sparse is not None else self._dense @ values
        return _to_int16(out)


def _to_int16(values: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    out: npt.NDArray[np.int16] = np.clip(values, INT16_MIN, INT16_MAX).astype(np.int16)
    return out


def mix_reference(frames: npt.ArrayLike, hearing: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Plain-loop reference of :func:`mix` (Python ints per sample), for tests and the baseline benchmark."""
    data = np.asarray(frames).tolist()
    matrix = np.asarray(hearing, dtype=bool).tolist()
    width = len(data[0]) if data else FRAME_SAMPLES
    out = []
    for row in matrix:
        acc = [0] * width
        for speaker, hears in enumerate(row):
            if hears:
                samples = data[speaker]
                for k in range(width):
                    acc[k] += samples[k]
        out.append([min(INT16_MAX, max(INT16_MIN, value)) for value in acc])
    return np.array(out, dtype=np.int16).reshape(len(matrix), width)
