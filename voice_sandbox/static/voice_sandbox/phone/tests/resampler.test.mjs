import { test } from "node:test";
import assert from "node:assert/strict";

import { Resampler } from "../resampler.js";

function sine(freq, rate, seconds, amplitude = 0.5) {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

function chunked(resampler, signal, size) {
  const parts = [];
  for (let i = 0; i < signal.length; i += size) parts.push(resampler.process(signal.subarray(i, i + size)));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function rms(samples, from = 0) {
  let sum = 0;
  for (let i = from; i < samples.length; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / (samples.length - from));
}

function zeroCrossings(samples, from = 0) {
  let count = 0;
  for (let i = from + 1; i < samples.length; i++) if ((samples[i - 1] < 0) !== (samples[i] < 0)) count++;
  return count;
}

test("the same rate passes samples through, one sample late", () => {
  const resampler = new Resampler(16000, 16000);
  assert.deepEqual(Array.from(resampler.process(Float32Array.from([0.5, -0.25, 0.75]))), [0, 0.5, -0.25]);
  assert.deepEqual(Array.from(resampler.process(Float32Array.from([1, 0]))), [0.75, 1]);
});

test("48 kHz to 16 kHz keeps one sample in three, whatever the chunking", () => {
  const signal = sine(440, 48000, 1);
  const whole = new Resampler(48000, 16000).process(signal);
  const inQuanta = chunked(new Resampler(48000, 16000), signal, 128);
  assert.equal(whole.length, 16000);
  assert.equal(inQuanta.length, 16000);
  for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(whole[i] - inQuanta[i]) < 1e-6, `sample ${i}`);
});

test("16 kHz to 44.1 kHz produces the right count in 20 ms frames", () => {
  const out = chunked(new Resampler(16000, 44100), sine(440, 16000, 1), 320);
  // 44 100 in exact arithmetic; the accumulated floating-point step may land one instant either side
  assert.ok(Math.abs(out.length - 44100) <= 1, `${out.length}`);
});

test("a 1 kHz tone keeps its pitch and level through 48 kHz -> 16 kHz -> 48 kHz", () => {
  const down = new Resampler(48000, 16000).process(sine(1000, 48000, 1));
  const up = new Resampler(16000, 48000).process(down);
  // 1 kHz crosses zero 2000 times a second; skip the filter's first milliseconds
  assert.ok(Math.abs(zeroCrossings(down, 160) - 2000 * 0.99) <= 4, `${zeroCrossings(down, 160)}`);
  assert.ok(Math.abs(zeroCrossings(up, 480) - 2000 * 0.99) <= 4, `${zeroCrossings(up, 480)}`);
  assert.ok(Math.abs(rms(down, 160) - 0.5 / Math.SQRT2) < 0.02, `${rms(down, 160)}`);
});

test("downsampling removes tones above the new Nyquist frequency instead of folding them back", () => {
  const out = new Resampler(48000, 16000).process(sine(12000, 48000, 0.5));
  assert.ok(rms(out, 160) < 0.02, `${rms(out, 160)}`);
});

test("bad rates are refused", () => {
  assert.throws(() => new Resampler(0, 16000), RangeError);
});
