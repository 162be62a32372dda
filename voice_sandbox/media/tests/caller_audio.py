"""Synthesize phrases in a fresh process, so test audio does not depend on what other tests spoke before.

espeak-ng keeps some state between utterances (see :mod:`voice_sandbox.media.tts`); a fresh process speaking a
fixed list in a fixed order gives the same samples on every run. Usage: ``python -m
voice_sandbox.media.tests.caller_audio STYLE OUT.npz`` with one phrase per line on stdin.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]


def speak_fresh(phrases: Sequence[str], *, style: int, language: str = "en-US") -> list[np.ndarray]:
    """Audio for each phrase, synthesized in a new interpreter."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "audio.npz"
        subprocess.run(
            [sys.executable, "-m", "voice_sandbox.media.tests.caller_audio", str(style), language, str(out)],
            input="\n".join(phrases),
            text=True,
            check=True,
            cwd=ROOT,
            timeout=60,
        )
        with np.load(out) as archive:
            return [archive[f"a{i}"] for i in range(len(phrases))]


def main() -> None:
    from voice_sandbox.media import tts

    style, language, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    phrases = sys.stdin.read().split("\n")
    synthesizer = tts.Synthesizer()
    audio = {f"a{i}": synthesizer.synthesize(p, language=language, style=style) for i, p in enumerate(phrases)}
    np.savez(out, **audio)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle


if __name__ == "__main__":
    main()
