// Exponential back-off with full jitter, for websocket reconnects.
export class Backoff {
  constructor({ base = 500, max = 15000, random = Math.random } = {}) {
    this.base = base;
    this.max = max;
    this.random = random;
    this.attempt = 0;
  }

  next() {
    const ceiling = Math.min(this.max, this.base * 2 ** this.attempt);
    this.attempt += 1;
    return Math.max(this.base / 2, Math.floor(this.random() * ceiling));
  }

  reset() {
    this.attempt = 0;
  }
}
