import { test } from "node:test";
import assert from "node:assert/strict";

import { Backoff } from "../backoff.js";

test("waits grow exponentially up to the cap, with jitter inside the ceiling", () => {
  const backoff = new Backoff({ base: 500, max: 4000, random: () => 0.999 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => backoff.next()), [499, 999, 1998, 3996, 3996]);
});

test("never waits less than half the base, even with a zero draw", () => {
  const backoff = new Backoff({ base: 500, max: 4000, random: () => 0 });
  assert.equal(backoff.next(), 250);
});

test("reset starts again from the base", () => {
  const backoff = new Backoff({ base: 100, max: 1000, random: () => 0.999 });
  backoff.next();
  backoff.next();
  backoff.reset();
  assert.equal(backoff.next(), 99);
});
