// The browser phone's websocket protocol (see voice_sandbox/phone.py): JSON control messages as text,
// audio as binary 640-byte frames of 16-bit little-endian PCM at 16 kHz (20 ms).

export const SAMPLE_RATE = 16000;
export const FRAME_SAMPLES = 320;
export const FRAME_BYTES = 640;
export const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

const NUMBER = /^\+?[0-9]{6,15}$/;
const USER = /^[A-Za-z0-9._@-]{1,64}$/;
const DIGITS = /^[0-9*#]{1,20}$/;

/** Float samples (-1..1) to 16-bit integers, clipped. */
export function floatToPcm16(samples) {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out[i] = Math.round(s < 0 ? s * 32768 : s * 32767);
  }
  return out;
}

export function pcm16ToFloat(samples) {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] / 32768;
  return out;
}

/** One frame as the wire's bytes (little-endian whatever the platform). */
export function encodeFrame(samples) {
  if (samples.length !== FRAME_SAMPLES) throw new RangeError(`a frame has ${FRAME_SAMPLES} samples`);
  const buffer = new ArrayBuffer(FRAME_BYTES);
  const view = new DataView(buffer);
  for (let i = 0; i < FRAME_SAMPLES; i++) view.setInt16(2 * i, samples[i], true);
  return buffer;
}

/** The samples of a received frame; a frame of another size is a protocol error. */
export function decodeFrame(buffer) {
  if (buffer.byteLength !== FRAME_BYTES) throw new RangeError(`expected ${FRAME_BYTES} bytes, got ${buffer.byteLength}`);
  const view = new DataView(buffer);
  const out = new Int16Array(FRAME_SAMPLES);
  for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = view.getInt16(2 * i, true);
  return out;
}

/** Root mean square of 16-bit samples: how loud a frame is. */
export function rms(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** Cuts a stream of 16-bit samples into 320-sample frames. */
export class Framer {
  constructor(frameSamples = FRAME_SAMPLES) {
    this.frameSamples = frameSamples;
    this.pending = new Int16Array(frameSamples);
    this.filled = 0;
  }

  /** @param {Int16Array} samples @returns {Int16Array[]} the frames completed by these samples */
  push(samples) {
    const frames = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(this.frameSamples - this.filled, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSamples) {
        frames.push(this.pending);
        this.pending = new Int16Array(this.frameSamples);
        this.filled = 0;
      }
    }
    return frames;
  }
}

/** Control messages the page sends; throws TypeError on a value the server would refuse. */
export const messages = {
  register(user) {
    if (!USER.test(user)) throw new TypeError("a user name is 1-64 letters, digits, '.', '_', '@' or '-'");
    return JSON.stringify({ type: "register", user });
  },
  dial(to, from) {
    if (!NUMBER.test(to)) throw new TypeError("the number to call has 6-15 digits");
    if (from && !NUMBER.test(from)) throw new TypeError("the caller's number has 6-15 digits");
    return JSON.stringify(from ? { type: "dial", to, from } : { type: "dial", to });
  },
  dtmf(digits) {
    if (!DIGITS.test(digits)) throw new TypeError("keys are 0-9, * and #");
    return JSON.stringify({ type: "dtmf", digits });
  },
  answer: () => JSON.stringify({ type: "answer" }),
  decline: () => JSON.stringify({ type: "decline" }),
  hangup: () => JSON.stringify({ type: "hangup" }),
};

const SERVER_TYPES = new Set(["hello", "registered", "incoming", "call", "error"]);

/** A server text message as an object; anything unexpected becomes a local error message. */
export function parseServerMessage(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return { type: "error", code: "bad_json", message: "the sandbox sent a message that is not JSON" };
  }
  if (!message || typeof message !== "object" || !SERVER_TYPES.has(message.type)) {
    return { type: "error", code: "unknown_type", message: `unexpected message from the sandbox: ${String(text).slice(0, 80)}` };
  }
  return message;
}

const ENDED = new Set(["completed", "rejected", "busy", "failed", "timeout", "unanswered", "cancelled"]);

/**
 * What the page shows for a leg status: phase is idle | ringing | connected | ended.
 * A dialled call rings while the application fetches its NCCO; an incoming one until the person answers.
 */
export function callPhase(status) {
  if (status === "answered") return "connected";
  if (status === "started" || status === "ringing") return "ringing";
  if (ENDED.has(status)) return "ended";
  return "idle";
}
