// Streaming sample-rate conversion between the AudioContext's rate and the sandbox's 16 kHz.
//
// Linear interpolation, with a windowed-sinc low-pass in front when downsampling (48 kHz microphone audio
// has content above 8 kHz that would otherwise fold back as noise). State carries across chunks, so
// feeding a signal in any chunking gives the same output as feeding it whole.

/** A FIR low-pass (Blackman-windowed sinc) with history kept between chunks. */
export class Lowpass {
  /** @param {number} cutoff cut-off as a fraction of the sample rate (0 < cutoff < 0.5) */
  constructor(cutoff, taps = 31) {
    this.taps = new Float32Array(taps);
    const middle = (taps - 1) / 2;
    let sum = 0;
    for (let i = 0; i < taps; i++) {
      const x = i - middle;
      const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
      const window = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (taps - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (taps - 1));
      this.taps[i] = sinc * window;
      sum += this.taps[i];
    }
    for (let i = 0; i < taps; i++) this.taps[i] /= sum; // unity gain at DC
    this.history = new Float32Array(taps - 1);
  }

  /** @param {Float32Array} input @returns {Float32Array} the filtered chunk, same length */
  process(input) {
    const n = this.history.length;
    const joined = new Float32Array(n + input.length);
    joined.set(this.history);
    joined.set(input, n);
    const out = new Float32Array(input.length);
    const taps = this.taps;
    for (let i = 0; i < input.length; i++) {
      let acc = 0;
      for (let k = 0; k < taps.length; k++) acc += taps[k] * joined[i + n - k];
      out[i] = acc;
    }
    this.history = joined.slice(joined.length - n);
    return out;
  }
}

export class Resampler {
  /** @param {number} fromRate @param {number} toRate */
  constructor(fromRate, toRate) {
    if (!(fromRate > 0 && toRate > 0)) throw new RangeError("sample rates must be positive");
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.step = fromRate / toRate;
    // Position of the next output sample in the virtual buffer [last, ...chunk]. Interpolating needs the
    // sample after the position, so the output lags the input by one input sample (62.5 us at 16 kHz).
    this.position = 0;
    this.last = 0;
    this.lowpass = toRate < fromRate ? new Lowpass((0.45 * toRate) / fromRate) : null;
  }

  /** @param {Float32Array} chunk @returns {Float32Array} */
  process(chunk) {
    const input = this.lowpass ? this.lowpass.process(chunk) : chunk;
    const n = input.length;
    if (n === 0) return new Float32Array(0);
    const count = Math.max(0, Math.ceil((n - this.position) / this.step));
    const out = new Float32Array(count);
    let t = this.position;
    for (let j = 0; j < count; j++) {
      const i = Math.floor(t);
      const frac = t - i;
      const a = i === 0 ? this.last : input[i - 1];
      const b = input[i];
      out[j] = a + (b - a) * frac;
      t += this.step;
    }
    this.position = t - n;
    this.last = input[n - 1];
    return out;
  }
}
