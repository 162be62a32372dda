"""Audio building blocks of the Voice API sandbox: frames, TTS, DTMF, codecs, mixer, VAD, ASR.

Pure library code: no Django, no database, no network. Every leg carries 16-bit signed little-endian
mono PCM at 16 kHz in 20 ms frames (see :mod:`voice_sandbox.media.frames`); the engine drives the
clock and calls these functions once per tick.
"""
