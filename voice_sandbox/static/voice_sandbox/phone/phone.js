// The sandbox phone page: control over the websocket, audio through WebAudio (an AudioWorklet, or a
// ScriptProcessor where worklets are missing). The logic lives in the small modules next to this file.

import { Downlink, Uplink } from "./pipeline.js";
import { KEYS, callPhase, decodeFrame, messages, parseServerMessage, rms } from "./protocol.js";

const $ = (id) => document.getElementById(id);
const LOUD = 100; // RMS of a 16-bit frame above which it is sound, not silence
const DTMF = { 1: [697, 1209], 2: [697, 1336], 3: [697, 1477], 4: [770, 1209], 5: [770, 1336], 6: [770, 1477],
  7: [852, 1209], 8: [852, 1336], 9: [852, 1477], "*": [941, 1209], 0: [941, 1336], "#": [941, 1477] };

// Figures the browser test (and a curious developer in the console) can read.
const stats = { framesReceived: 0, loudFrames: 0, framesSent: 0, errors: [], audio: "off" };
window.phoneStats = stats;

let socket = null;
let hello = null;
let audio = null;
let call = null; // the last "call" message
let registeredAs = null;
let wantedUser = null; // re-registered after a reconnect
let retry = 1000;

function log(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("log").prepend(item);
}

function note(text) {
  $("audio-note").textContent = text;
}

function setLink(state, text) {
  $("link").dataset.state = state;
  $("link").textContent = text;
}

// -- websocket ----------------------------------------------------------------------------------------------
async function connect() {
  let response;
  try {
    response = await fetch("/_sandbox/phone/token", { method: "POST", credentials: "same-origin" });
  } catch {
    return reconnectLater("The sandbox cannot be reached");
  }
  if (!response.ok) {
    setLink("closed", `Not signed in (${response.status}): reload and give the sandbox's API key and secret`);
    return;
  }
  const { token, ws_path: path } = await response.json();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${path}?token=${encodeURIComponent(token)}`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    retry = 1000;
    setLink("open", "Connected to the sandbox");
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") onControl(parseServerMessage(event.data));
    else onFrame(event.data);
  };
  socket.onclose = (event) => {
    socket = null;
    registeredAs = null;
    if (call && callPhase(call.status) !== "ended") showCall({ ...call, status: "completed" });
    reconnectLater(`Disconnected from the sandbox (${event.code})`);
  };
}

function reconnectLater(reason) {
  setLink("closed", `${reason}; retrying…`);
  setTimeout(connect, retry);
  retry = Math.min(retry * 2, 15000);
}

function send(text) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    log("not connected to the sandbox");
    return false;
  }
  socket.send(text);
  return true;
}

function onControl(message) {
  switch (message.type) {
    case "hello":
      hello = message;
      if (!$("from").value) $("from").value = message.default_from;
      if (!message.audio) note("This sandbox runs without real audio (start it with SANDBOX_MEDIA=audio): calls, states and keys still work.");
      if (wantedUser) send(messages.register(wantedUser));
      break;
    case "registered":
      registeredAs = message.user;
      log(`registered as app user ${message.user}: calls to it ring here`);
      $("register").textContent = `Registered as ${message.user}`;
      $("register").disabled = true;
      break;
    case "incoming":
      log(`incoming call from ${message.from}`);
      break;
    case "call":
      showCall(message);
      break;
    case "error":
      stats.errors.push(message);
      log(`error ${message.code}: ${message.message}`);
      note(message.message);
      break;
  }
}

// -- the call -------------------------------------------------------------------------------------------
function showCall(message) {
  const previous = call;
  call = message;
  const phase = callPhase(message.status);
  const state = $("call-state");
  state.dataset.phase = phase;
  state.dataset.status = message.status;
  state.dataset.uuid = message.uuid;
  const other = message.role === "callee" ? message.from : message.to;
  state.textContent = {
    ringing: message.role === "callee" ? `Incoming call from ${message.from}` : `Calling ${message.to}…`,
    connected: `Connected to ${other}`,
    ended: message.status === "completed" ? "Call ended" : `Call ended: ${message.status}`,
    idle: message.status,
  }[phase];
  $("call-detail").textContent = `${message.from} → ${message.to} · ${message.uuid}`;
  const ringingIn = phase === "ringing" && message.role === "callee";
  $("answer").hidden = $("decline").hidden = !ringingIn;
  $("dial").hidden = ringingIn;
  $("dial").disabled = phase === "ringing" || phase === "connected";
  $("hangup").disabled = !(phase === "ringing" || phase === "connected");
  if (!previous || previous.status !== message.status) log(`call ${message.status}`);
  if (audio) audio.setSending(phase === "connected");
  if (phase === "ended" && audio) audio.clear();
}

function onFrame(buffer) {
  let samples;
  try {
    samples = decodeFrame(buffer);
  } catch (error) {
    stats.errors.push({ code: "bad_frame", message: error.message });
    return;
  }
  stats.framesReceived += 1;
  const level = rms(samples);
  if (level > LOUD) stats.loudFrames += 1;
  $("level-in").value = Math.min(1, level / 8000);
  if (audio) audio.push(buffer);
}

function sendFrame(buffer) {
  if (!call || callPhase(call.status) !== "connected" || !socket || socket.readyState !== WebSocket.OPEN) return;
  stats.framesSent += 1;
  $("level-out").value = Math.min(1, rms(decodeFrame(buffer)) / 8000);
  socket.send(buffer);
}

// -- audio ----------------------------------------------------------------------------------------------
async function ensureAudio() {
  if (audio) return audio;
  const context = new AudioContext();
  await context.resume();
  let microphone = null;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    microphone = context.createMediaStreamSource(stream);
  } catch (error) {
    note(`No microphone (${error.name}): you can listen and press keys. Microphones need https or localhost.`);
  }
  try {
    await context.audioWorklet.addModule("/_sandbox/phone/static/worklet.js");
    const node = new AudioWorkletNode(context, "phone-io", { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
    node.port.onmessage = (event) => sendFrame(event.data);
    if (microphone) microphone.connect(node);
    node.connect(context.destination);
    audio = {
      context,
      push: (buffer) => node.port.postMessage({ type: "frame", buffer }, [buffer]),
      setSending: (on) => node.port.postMessage({ type: "send", on }),
      clear: () => node.port.postMessage({ type: "clear" }),
    };
    stats.audio = "worklet";
  } catch {
    audio = scriptProcessorAudio(context, microphone);
    stats.audio = "script-processor";
  }
  log(`audio at ${context.sampleRate} Hz (${stats.audio})`);
  return audio;
}

// Fallback for browsers without AudioWorklet: the same pipeline on the main thread, with a deeper buffer
// because a ScriptProcessor works in larger blocks.
function scriptProcessorAudio(context, microphone) {
  const uplink = new Uplink(context.sampleRate);
  const downlink = new Downlink(context.sampleRate, { targetFrames: 6, maxFrames: 25 });
  const processor = context.createScriptProcessor(2048, 1, 1);
  let sending = false;
  processor.onaudioprocess = (event) => {
    if (sending && microphone) for (const frame of uplink.process(event.inputBuffer.getChannelData(0))) sendFrame(frame);
    event.outputBuffer.getChannelData(0).set(downlink.render(event.outputBuffer.length));
  };
  if (microphone) microphone.connect(processor);
  processor.connect(context.destination);
  return {
    context,
    push: (buffer) => downlink.push(buffer),
    setSending: (on) => { sending = on; },
    clear: () => downlink.clear(),
  };
}

// The key's tone for the person's own ear only: the sandbox adds the real tone to the call.
function keyFeedback(key) {
  if (!audio) return;
  const { context } = audio;
  const gain = context.createGain();
  gain.gain.value = 0.08;
  gain.connect(context.destination);
  for (const frequency of DTMF[key]) {
    const oscillator = context.createOscillator();
    oscillator.frequency.value = frequency;
    oscillator.connect(gain);
    oscillator.start();
    oscillator.stop(context.currentTime + 0.12);
  }
}

// -- controls -------------------------------------------------------------------------------------------
function guard(action) {
  return async () => {
    try {
      await action();
    } catch (error) {
      note(error.message);
      log(`error: ${error.message}`);
    }
  };
}

function press(key) {
  if (!call || callPhase(call.status) !== "connected") return;
  if (send(messages.dtmf(key))) {
    keyFeedback(key);
    log(`pressed ${key}`);
  }
}

function setMode() {
  const user = document.querySelector("input[name=mode]:checked").value === "user";
  $("user-field").hidden = !user;
  $("from-field").hidden = user;
}

function init() {
  for (const key of KEYS) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = key;
    button.dataset.key = key;
    button.addEventListener("click", () => press(key));
    $("keypad").append(button);
  }
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement) return;
    if (KEYS.includes(event.key)) press(event.key);
  });
  for (const radio of document.querySelectorAll("input[name=mode]")) radio.addEventListener("change", setMode);
  $("dial").addEventListener("click", guard(async () => {
    const text = messages.dial($("to").value.trim(), registeredAs ? undefined : $("from").value.trim() || undefined);
    await ensureAudio();
    send(text);
  }));
  $("register").addEventListener("click", guard(async () => {
    const text = messages.register($("user").value.trim());
    await ensureAudio();
    wantedUser = $("user").value.trim();
    send(text);
  }));
  $("answer").addEventListener("click", guard(async () => {
    await ensureAudio();
    send(messages.answer());
  }));
  $("decline").addEventListener("click", () => send(messages.decline()));
  $("hangup").addEventListener("click", () => send(messages.hangup()));
  const query = new URLSearchParams(location.search);
  if (query.get("to")) $("to").value = query.get("to");
  if (query.get("user")) {
    document.querySelector("input[name=mode][value=user]").checked = true;
    $("user").value = query.get("user");
  }
  setMode();
  connect();
}

init();
