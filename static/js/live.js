// Connects to the realtime websocket with reconnect and back-off; pages react to "cc:event".
import { Backoff } from "./backoff.js";

const indicator = document.getElementById("live-status");
const text = document.getElementById("live-text");
const list = document.getElementById("events");
const backoff = new Backoff({ base: 500, max: 15000 });

function setState(state, label) {
  if (indicator) indicator.dataset.state = state;
  if (text) text.textContent = label;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
  setState("connecting", "connecting…");
  socket.addEventListener("open", () => { backoff.reset(); setState("open", "connected"); });
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "hello" || event.type === "pong") return;
    document.dispatchEvent(new CustomEvent("cc:event", { detail: event }));
    if (list) {
      const item = document.createElement("li");
      item.textContent = `${new Date().toLocaleTimeString()} ${event.type}`;
      list.prepend(item);
    }
  });
  socket.addEventListener("close", (event) => {
    if (event.code === 4401) { setState("closed", "signed out"); return; }
    const wait = backoff.next();
    setState("closed", `reconnecting in ${Math.round(wait / 1000)} s`);
    // After a reconnect pages reload their state from the server: pushes are at most once.
    setTimeout(() => { connect(); document.dispatchEvent(new CustomEvent("cc:resync")); }, wait);
  });
}

connect();
