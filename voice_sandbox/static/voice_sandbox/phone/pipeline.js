// The two audio paths of the phone, independent of WebAudio so node can test them:
// Uplink: microphone samples at the context rate -> 640-byte frames at 16 kHz for the websocket.
// Downlink: frames from the websocket -> jitter buffer -> samples at the context rate for the speakers.

import { JitterBuffer } from "./jitter.js";
import { FRAME_SAMPLES, Framer, SAMPLE_RATE, decodeFrame, encodeFrame, floatToPcm16, pcm16ToFloat } from "./protocol.js";
import { Resampler } from "./resampler.js";

export class Uplink {
  constructor(contextRate) {
    this.resampler = new Resampler(contextRate, SAMPLE_RATE);
    this.framer = new Framer(FRAME_SAMPLES);
  }

  /** @param {Float32Array} samples @returns {ArrayBuffer[]} complete frames ready to send */
  process(samples) {
    return this.framer.push(floatToPcm16(this.resampler.process(samples))).map(encodeFrame);
  }
}

export class Downlink {
  constructor(contextRate, jitterOptions = {}) {
    this.resampler = new Resampler(SAMPLE_RATE, contextRate);
    this.jitter = new JitterBuffer({ frameSamples: FRAME_SAMPLES, ...jitterOptions });
    this.ready = new Float32Array(0); // resampled samples not yet rendered
  }

  /** @param {ArrayBuffer} buffer one 640-byte frame */
  push(buffer) {
    this.jitter.push(pcm16ToFloat(decodeFrame(buffer)));
  }

  /** @returns {Float32Array} exactly n samples at the context rate */
  render(n) {
    while (this.ready.length < n) {
      const more = this.resampler.process(this.jitter.pull(FRAME_SAMPLES / 2)); // 10 ms at a time
      const joined = new Float32Array(this.ready.length + more.length);
      joined.set(this.ready);
      joined.set(more, this.ready.length);
      this.ready = joined;
    }
    const out = this.ready.slice(0, n);
    this.ready = this.ready.slice(n);
    return out;
  }

  clear() {
    this.jitter.clear();
    this.ready = new Float32Array(0);
  }
}
