import assert from "node:assert/strict";
import { test } from "node:test";
import { requestId } from "./request-id.ts";

test("request ids are distinct UUIDv7s carrying the current time, across pool refills", () => {
  const before = Date.now();
  const ids = Array.from({ length: 1000 }, () => requestId());
  const after = Date.now();
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) {
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
    assert.ok(ms >= before && ms <= after, `${id} carries ${ms}, outside ${before}..${after}`);
  }
});
