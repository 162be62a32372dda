import { test } from "node:test";
import assert from "node:assert/strict";

import { Downlink, Uplink } from "../pipeline.js";
import {
  FRAME_BYTES,
  Framer,
  callPhase,
  decodeFrame,
  encodeFrame,
  floatToPcm16,
  messages,
  parseServerMessage,
  pcm16ToFloat,
} from "../protocol.js";

test("float samples become clipped 16-bit integers and back", () => {
  assert.deepEqual(Array.from(floatToPcm16(Float32Array.from([0, 0.5, -0.5, 1, -1, 2, -2]))), [
    0, 16384, -16384, 32767, -32768, 32767, -32768,
  ]);
  assert.deepEqual(Array.from(pcm16ToFloat(Int16Array.from([16384, -32768]))), [0.5, -1]);
});

test("frames are 640 little-endian bytes each way; other sizes are refused", () => {
  const samples = new Int16Array(320);
  samples[0] = 0x0102;
  samples[319] = -2;
  const buffer = encodeFrame(samples);
  assert.equal(buffer.byteLength, FRAME_BYTES);
  assert.deepEqual(Array.from(new Uint8Array(buffer, 0, 2)), [0x02, 0x01]);
  assert.deepEqual(Array.from(decodeFrame(buffer)), Array.from(samples));
  assert.throws(() => decodeFrame(new ArrayBuffer(320)), /expected 640 bytes, got 320/);
  assert.throws(() => encodeFrame(new Int16Array(10)), RangeError);
});

test("the framer cuts any chunking into 320-sample frames and keeps the remainder", () => {
  const framer = new Framer();
  assert.equal(framer.push(new Int16Array(128)).length, 0);
  assert.equal(framer.push(new Int16Array(128)).length, 0);
  const frames = framer.push(Int16Array.from({ length: 500 }, (_, i) => i));
  assert.equal(frames.length, 2);
  assert.equal(frames[0][256], 0);
  assert.equal(frames[1][0], 64);
  assert.equal(framer.filled, 116);
});

test("control messages are built only from valid values", () => {
  assert.equal(messages.dial("447700900000"), '{"type":"dial","to":"447700900000"}');
  assert.equal(messages.dial("447700900000", "447700900123"), '{"type":"dial","to":"447700900000","from":"447700900123"}');
  assert.equal(messages.register("agent.alice"), '{"type":"register","user":"agent.alice"}');
  assert.equal(messages.dtmf("1#"), '{"type":"dtmf","digits":"1#"}');
  assert.equal(messages.hangup(), '{"type":"hangup"}');
  assert.throws(() => messages.dial("12ab"), TypeError);
  assert.throws(() => messages.register("no spaces"), TypeError);
  assert.throws(() => messages.dtmf("A"), TypeError);
});

test("server messages are parsed; anything unexpected becomes an error", () => {
  assert.deepEqual(parseServerMessage('{"type":"call","status":"answered"}'), { type: "call", status: "answered" });
  assert.equal(parseServerMessage("not json").code, "bad_json");
  assert.equal(parseServerMessage('{"type":"surprise"}').code, "unknown_type");
  assert.equal(parseServerMessage("[1]").code, "unknown_type");
});

test("leg statuses map to what the page shows", () => {
  assert.deepEqual(
    ["started", "ringing", "answered", "completed", "rejected", "busy", "weird"].map(callPhase),
    ["ringing", "ringing", "connected", "ended", "ended", "ended", "idle"],
  );
});

test("uplink: 48 kHz microphone quanta become 640-byte frames at 16 kHz", () => {
  const uplink = new Uplink(48000);
  let frames = [];
  for (let i = 0; i < 375; i++) frames = frames.concat(uplink.process(new Float32Array(128).fill(0.25))); // 1 s
  assert.equal(frames.length, 50);
  assert.ok(frames.every((f) => f.byteLength === 640));
  const last = decodeFrame(frames[49]);
  assert.ok(Math.abs(last[100] - 8192) <= 1, `${last[100]}`);
});

test("downlink: 16 kHz frames play at the context rate after priming, silence when starved", () => {
  const starved = new Downlink(48000, { targetFrames: 2, maxFrames: 10 });
  const frame = encodeFrame(new Int16Array(320).fill(16384));
  starved.push(frame);
  assert.ok(starved.render(128).every((s) => s === 0));
  const downlink = new Downlink(48000, { targetFrames: 2, maxFrames: 10 });
  downlink.push(frame);
  downlink.push(frame);
  downlink.push(frame);
  const rendered = downlink.render(128 * 10);
  assert.ok(rendered.slice(3, 1000).every((s) => Math.abs(s - 0.5) < 1e-6));
});
