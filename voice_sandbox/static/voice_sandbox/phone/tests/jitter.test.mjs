import { test } from "node:test";
import assert from "node:assert/strict";

import { JitterBuffer } from "../jitter.js";

const frame = (value, n = 4) => new Float32Array(n).fill(value);

test("plays silence until the target depth is buffered, then the frames in order across boundaries", () => {
  const buffer = new JitterBuffer({ frameSamples: 4, targetFrames: 2, maxFrames: 5 });
  buffer.push(frame(1));
  assert.deepEqual(Array.from(buffer.pull(3)), [0, 0, 0]);
  buffer.push(frame(2));
  assert.deepEqual(Array.from(buffer.pull(3)), [1, 1, 1]);
  assert.deepEqual(Array.from(buffer.pull(3)), [1, 2, 2]);
  assert.equal(buffer.bufferedSamples, 2);
  assert.deepEqual(buffer.stats, { pushed: 2, played: 6, underruns: 0, dropped: 0 });
});

test("an underrun fills with silence and waits to be primed again", () => {
  const buffer = new JitterBuffer({ frameSamples: 4, targetFrames: 2, maxFrames: 5 });
  buffer.push(frame(1));
  buffer.push(frame(2));
  assert.deepEqual(Array.from(buffer.pull(10)), [1, 1, 1, 1, 2, 2, 2, 2, 0, 0]);
  assert.equal(buffer.stats.underruns, 1);
  buffer.push(frame(3));
  assert.deepEqual(Array.from(buffer.pull(2)), [0, 0]);
  buffer.push(frame(4));
  assert.deepEqual(Array.from(buffer.pull(5)), [3, 3, 3, 3, 4]);
});

test("a burst beyond the maximum drops the oldest audio back to the target depth", () => {
  const buffer = new JitterBuffer({ frameSamples: 4, targetFrames: 2, maxFrames: 3 });
  for (let i = 1; i <= 4; i++) buffer.push(frame(i));
  assert.equal(buffer.stats.dropped, 2);
  assert.equal(buffer.bufferedSamples, 8);
  assert.deepEqual(Array.from(buffer.pull(8)), [3, 3, 3, 3, 4, 4, 4, 4]);
});

test("frames of the wrong size and impossible depths are refused", () => {
  const buffer = new JitterBuffer({ frameSamples: 4 });
  assert.throws(() => buffer.push(frame(1, 3)), RangeError);
  assert.equal(buffer.stats.pushed, 0);
  assert.throws(() => new JitterBuffer({ targetFrames: 5, maxFrames: 4 }), RangeError);
});
