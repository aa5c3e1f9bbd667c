import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkRef, checkRepoRequest, checkRepoUrl, checkSearchPath, redactUrl, repoResourceKey } from "./repo-input.ts";

const timeout = { gitTimeoutMs: 10_000 };

describe("checkRepoUrl", () => {
  test("accepts https URLs and normalises them", () => {
    assert.deepEqual(checkRepoUrl("https://GitHub.com/honojs/hono#readme", false), {
      url: "https://github.com/honojs/hono",
      isLocal: false,
    });
  });

  const refusedAlways = [
    "http://example.com/repo.git",
    "ssh://git@example.com/repo.git",
    "git://example.com/repo.git",
    "git@example.com:owner/repo.git",
    "ext::sh -c touch% /tmp/pwned",
    "ext::ssh -o ProxyCommand=evil example.com",
    "fd::3",
    "-upload-pack=touch /tmp/pwned",
    "--help",
    "relative/path",
    "./repo",
    "https://user:secret@example.com/repo.git",
    "https://token@example.com/repo.git",
    "https://example.com/repo\n.git",
    " https://example.com/repo.git",
    "",
  ];
  for (const url of refusedAlways) {
    test(`refuses ${JSON.stringify(url)} even with local repositories allowed`, () => {
      assert.throws(() => checkRepoUrl(url, true), { code: "invalid_repository" });
    });
  }

  test("refuses file URLs and paths unless local repositories are allowed", () => {
    assert.throws(() => checkRepoUrl("file:///srv/repo", false), {
      code: "invalid_repository",
      message: /REPO_ALLOW_LOCAL/,
    });
    assert.throws(() => checkRepoUrl("/srv/repo", false), { code: "invalid_repository" });
    assert.deepEqual(checkRepoUrl("/srv/repo/", true), { url: "file:///srv/repo/", isLocal: true });
    assert.deepEqual(checkRepoUrl("file:///srv/repo", true), { url: "file:///srv/repo", isLocal: true });
  });

  test("never repeats credentials in its error", () => {
    assert.throws(
      () => checkRepoUrl("https://alice:hunter2@example.com/repo.git", false),
      (error: Error) => !error.message.includes("hunter2") && !error.message.includes("alice"),
    );
  });

  test("refuses non-strings", () => {
    assert.throws(() => checkRepoUrl(42, true), { code: "invalid_repository" });
  });
});

describe("checkRef", () => {
  test("accepts branch and tag names, and no ref", async () => {
    assert.equal(await checkRef("main", timeout.gitTimeoutMs), "main");
    assert.equal(await checkRef("release/v1.2", timeout.gitTimeoutMs), "release/v1.2");
    assert.equal(await checkRef(null, timeout.gitTimeoutMs), null);
    assert.equal(await checkRef("", timeout.gitTimeoutMs), null);
  });

  const refused = [
    "-b",
    "--upload-pack=x",
    "main..dev",
    "has space",
    "ends.lock",
    "a@{1}",
    "back\\slash",
    "x~1",
    "a^",
    "colon:ref",
    "trailing/",
    "/leading",
    "@",
    "q?",
    "star*",
    "new\nline",
  ];
  for (const ref of refused) {
    test(`refuses ${JSON.stringify(ref)}`, async () => {
      await assert.rejects(checkRef(ref, timeout.gitTimeoutMs), { code: "invalid_ref" });
    });
  }
});

describe("checkSearchPath", () => {
  test("normalises relative paths", () => {
    assert.equal(checkSearchPath("docs/"), "docs");
    assert.equal(checkSearchPath("./docs//guide"), "docs/guide");
    assert.equal(checkSearchPath("."), null);
    assert.equal(checkSearchPath(undefined), null);
  });

  for (const searchPath of [
    "../etc",
    "docs/../../etc",
    "..",
    "/etc",
    "C:\\Windows",
    "-rf",
    "docs\\..\\..",
    "a\u0000b",
  ]) {
    test(`refuses ${JSON.stringify(searchPath)}`, () => {
      assert.throws(() => checkSearchPath(searchPath), { code: "invalid_search_path" });
    });
  }
});

test("checkRepoRequest keys one repository, ref and path the same way every time", async () => {
  const options = { allowLocal: false, ...timeout };
  const first = await checkRepoRequest({ url: "https://example.com/a.git", ref: "main", searchPath: "docs/" }, options);
  const second = await checkRepoRequest(
    { url: "https://EXAMPLE.com/a.git", ref: "main", searchPath: "./docs" },
    options,
  );
  assert.equal(first.resourceKey, second.resourceKey);
  assert.match(first.resourceKey, /^[0-9a-f]{32}$/);
  assert.notEqual(first.resourceKey, repoResourceKey(first.url, "dev", "docs"));
  assert.notEqual(first.resourceKey, repoResourceKey(first.url, "main", null));
});

test("redactUrl drops user, password and query", () => {
  assert.equal(redactUrl("https://alice:pw@example.com/r.git?token=x"), "https://example.com/r.git");
});
