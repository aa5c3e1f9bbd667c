import assert from "node:assert/strict";
import { test } from "node:test";
import { isoTime } from "./iso-time.ts";

test("isoTime writes what toISOString writes, from 1970 to 9999 and outside it", () => {
  const edges = [0, 1, 999, 86_399_999, 86_400_000, 951_782_400_000, 1_796_139_102_866, 253_402_300_799_999];
  const outside = [-1, -62_198_755_200_000, 253_402_300_800_000, 8_640_000_000_000_000];
  let seed = 7;
  const random = () => {
    seed = (seed * 16_807) % 2_147_483_647;
    return seed / 2_147_483_647;
  };
  const samples = Array.from({ length: 20_000 }, () => Math.floor(random() * 253_402_300_800_000));
  for (const ms of [...edges, ...outside, ...samples]) {
    const date = new Date(ms);
    assert.equal(isoTime(date), date.toISOString(), `at ${ms}`);
  }
});

test("isoTime throws on an invalid date, as toISOString does", () => {
  assert.throws(() => isoTime(new Date(Number.NaN)), RangeError);
});
