// Playback buffering: frames arrive from the network in bursts; the speaker takes samples at a steady pace.
//
// The buffer waits until it holds `targetFrames` before playing (priming), plays silence and primes again
// after an underrun, and when a burst pushes it past `maxFrames` drops the oldest audio back down to the
// target, so latency stays bounded (a sandbox running faster than real time sends faster than it plays).

export class JitterBuffer {
  constructor({ frameSamples = 320, targetFrames = 3, maxFrames = 12 } = {}) {
    if (!(targetFrames >= 1 && maxFrames >= targetFrames)) throw new RangeError("need 1 <= targetFrames <= maxFrames");
    this.frameSamples = frameSamples;
    this.targetFrames = targetFrames;
    this.maxFrames = maxFrames;
    this.frames = [];
    this.offset = 0; // samples already played of frames[0]
    this.primed = false;
    this.stats = { pushed: 0, played: 0, underruns: 0, dropped: 0 };
  }

  get bufferedSamples() {
    return this.frames.length * this.frameSamples - this.offset;
  }

  /** @param {Float32Array} frame one frame of samples (-1..1) */
  push(frame) {
    if (frame.length !== this.frameSamples) throw new RangeError(`a frame has ${this.frameSamples} samples`);
    this.frames.push(frame);
    this.stats.pushed += 1;
    if (this.frames.length > this.maxFrames) {
      const drop = this.frames.length - this.targetFrames;
      this.frames.splice(0, drop);
      this.offset = 0;
      this.stats.dropped += drop;
    }
    if (!this.primed && this.frames.length >= this.targetFrames) this.primed = true;
  }

  /** @returns {Float32Array} exactly n samples: buffered audio, then silence if it ran out */
  pull(n) {
    const out = new Float32Array(n);
    if (!this.primed) return out;
    let written = 0;
    while (written < n && this.frames.length) {
      const frame = this.frames[0];
      const take = Math.min(n - written, frame.length - this.offset);
      out.set(frame.subarray(this.offset, this.offset + take), written);
      written += take;
      this.offset += take;
      if (this.offset === frame.length) {
        this.frames.shift();
        this.offset = 0;
      }
    }
    this.stats.played += written;
    if (written < n) {
      this.stats.underruns += 1;
      this.primed = false;
    }
    return out;
  }

  clear() {
    this.frames = [];
    this.offset = 0;
    this.primed = false;
  }
}
