import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { describe, type TestContext, test } from "node:test";
import {
  commitFiles,
  exists,
  git,
  makeClock,
  makeGitRepo,
  makeTempDir,
  makeTestApp,
  querySql,
  type TestClock,
} from "./_setup.ts";

const day = 86_400_000;

async function setup(t: TestContext, options: { clock?: TestClock; environment?: Record<string, string> } = {}) {
  const dataDir = await makeTempDir(t);
  const app = await makeTestApp(t, { dataDir, ...options });
  const reposDir = path.join(dataDir, "repos");
  const source = await makeGitRepo(t, { "README.md": "# Demo\nhello world\n", "docs/guide.md": "install with npm\n" });
  const rows = () => querySql(app, "SELECT * FROM repo_cache");
  const entries = async () => readdir(reposDir).catch(() => [] as string[]);
  const clones = () => app.logLines.filter((line) => line.msg === "repository cloned").length;
  return { app, dataDir, reposDir, source, rows, entries, clones };
}

describe("repo cache", () => {
  test("clones a repository with real git and records its commit", async (t) => {
    const { app, source, rows, reposDir } = await setup(t);
    const checkout = await app.repos.ensureRepo({ url: source.url });
    assert.equal(checkout.commit, git(source.dir, "rev-parse", "HEAD"));
    assert.equal(checkout.localPath, path.join(reposDir, checkout.resourceKey));
    assert.equal(checkout.searchRoot, checkout.localPath);
    assert.equal(await readFile(path.join(checkout.localPath, "README.md"), "utf8"), "# Demo\nhello world\n");
    const [row] = await rows();
    assert.equal(row?.resource_key, checkout.resourceKey);
    assert.equal(row?.commit, checkout.commit);
    assert.equal(row?.url, source.url);
  });

  test("accepts a plain absolute path as a local repository", async (t) => {
    const { app, source } = await setup(t);
    const checkout = await app.repos.ensureRepo({ url: source.dir });
    assert.equal(checkout.url, source.url);
  });

  test("checks out branches and tags and searches under a path", async (t) => {
    const { app, source } = await setup(t);
    git(source.dir, "tag", "v1");
    git(source.dir, "checkout", "--quiet", "-b", "next");
    const nextCommit = await commitFiles(source.dir, { "docs/guide.md": "install with pnpm\n" }, "next");
    git(source.dir, "checkout", "--quiet", "main");

    const tagged = await app.repos.ensureRepo({ url: source.url, ref: "v1", searchPath: "docs" });
    assert.equal(tagged.searchRoot, path.join(tagged.localPath, "docs"));
    assert.equal(await readFile(path.join(tagged.searchRoot, "guide.md"), "utf8"), "install with npm\n");
    const branch = await app.repos.ensureRepo({ url: source.url, ref: "next", searchPath: "docs/" });
    assert.equal(branch.commit, nextCommit);
    assert.notEqual(branch.resourceKey, tagged.resourceKey);
    assert.equal(await readFile(path.join(branch.searchRoot, "guide.md"), "utf8"), "install with pnpm\n");
  });

  test("a second call uses the cached checkout", async (t) => {
    const { app, source, clones } = await setup(t);
    const first = await app.repos.ensureRepo({ url: source.url });
    await commitFiles(source.dir, { "new.md": "new" }, "second");
    const second = await app.repos.ensureRepo({ url: source.url });
    assert.equal(second.commit, first.commit, "not refreshed before REPO_TTL");
    assert.equal(clones(), 1);
  });

  test("concurrent calls for the same repository clone once", async (t) => {
    const { app, source, clones, entries, rows } = await setup(t);
    const results = await Promise.all(Array.from({ length: 5 }, () => app.repos.ensureRepo({ url: source.url })));
    assert.equal(new Set(results.map((checkout) => checkout.localPath)).size, 1);
    assert.equal(clones(), 1);
    assert.equal((await entries()).length, 1);
    assert.equal((await rows()).length, 1);
  });

  test("a failed clone leaves no row and no directory", async (t) => {
    const { app, source, entries, rows, dataDir } = await setup(t);
    const failures = [
      { url: `file://${path.join(dataDir, "no-such-repo")}` },
      { url: source.url, ref: "no-such-branch" },
      { url: source.url, searchPath: "no/such/folder" },
    ];
    for (const request of failures) {
      await assert.rejects(app.repos.ensureRepo(request), (error: { code?: string }) =>
        ["repository_unavailable", "invalid_search_path"].includes(String(error.code)),
      );
    }
    assert.deepEqual(await rows(), []);
    assert.deepEqual(await entries(), []);
  });

  test("refuses a search path that leaves the checkout through a symlink, leaving nothing", async (t) => {
    const { app, source, entries, rows } = await setup(t);
    await symlink("/etc", path.join(source.dir, "escape"));
    await mkdir(path.join(source.dir, "inner"));
    await symlink("../../..", path.join(source.dir, "inner", "up"));
    await commitFiles(source.dir, {}, "add symlinks");
    await assert.rejects(app.repos.ensureRepo({ url: source.url, searchPath: "escape" }), {
      code: "invalid_search_path",
    });
    await assert.rejects(app.repos.ensureRepo({ url: source.url, searchPath: "inner/up" }), {
      code: "invalid_search_path",
    });
    assert.deepEqual(await rows(), []);
    assert.deepEqual(await entries(), []);
  });

  test("refuses hostile input before running any clone", async (t) => {
    const { app, source, entries } = await setup(t, { environment: { REPO_ALLOW_LOCAL: "false" } });
    const refused: [Record<string, string>, string][] = [
      [{ url: source.url }, "invalid_repository"],
      [{ url: source.dir }, "invalid_repository"],
      [{ url: "ext::sh -c touch% /tmp/pwned" }, "invalid_repository"],
      [{ url: "--upload-pack=touch /tmp/pwned" }, "invalid_repository"],
      [{ url: "https://user:pass@example.com/r.git" }, "invalid_repository"],
      [{ url: "https://example.com/r.git", ref: "--orphan" }, "invalid_ref"],
      [{ url: "https://example.com/r.git", ref: "a..b" }, "invalid_ref"],
      [{ url: "https://example.com/r.git", searchPath: "../../etc" }, "invalid_search_path"],
      [{ url: "https://example.com/r.git", searchPath: "/etc" }, "invalid_search_path"],
    ];
    for (const [request, code] of refused) {
      await assert.rejects(
        app.repos.ensureRepo({ url: request.url ?? "", ...request }),
        { code },
        JSON.stringify(request),
      );
    }
    assert.deepEqual(await entries(), []);
    assert.equal(await exists("/tmp/pwned"), false);
  });

  test("refreshes an entry older than REPO_TTL and records the new commit", async (t) => {
    const clock = makeClock(new Date());
    const { app, source, rows, clones } = await setup(t, { clock });
    const first = await app.repos.ensureRepo({ url: source.url });
    const newCommit = await commitFiles(source.dir, { "CHANGELOG.md": "v2" }, "second");
    clock.advance(7 * day + 1);
    const refreshed = await app.repos.ensureRepo({ url: source.url });
    assert.notEqual(first.commit, newCommit);
    assert.equal(refreshed.commit, newCommit);
    assert.equal(refreshed.localPath, first.localPath);
    assert.equal(await readFile(path.join(refreshed.localPath, "CHANGELOG.md"), "utf8"), "v2");
    assert.equal((await rows())[0]?.commit, newCommit);
    assert.deepEqual(refreshed.lastUpdated, clock.now());
    assert.equal(clones(), 1, "refreshed by fetching, not by cloning again");
  });

  test("keeps serving the cached copy when a refresh fails", async (t) => {
    const clock = makeClock(new Date());
    const { app, source } = await setup(t, { clock });
    const first = await app.repos.ensureRepo({ url: source.url });
    await rm(source.dir, { recursive: true, force: true });
    clock.advance(8 * day);
    const stale = await app.repos.ensureRepo({ url: source.url });
    assert.equal(stale.commit, first.commit);
    assert.ok(app.logLines.some((line) => line.msg === "repository refresh failed"));
  });

  test("clones again when the checkout folder vanished", async (t) => {
    const { app, source, clones } = await setup(t);
    const first = await app.repos.ensureRepo({ url: source.url });
    await rm(first.localPath, { recursive: true, force: true });
    const again = await app.repos.ensureRepo({ url: source.url });
    assert.equal(again.localPath, first.localPath);
    assert.equal(await exists(path.join(again.localPath, "README.md")), true);
    assert.equal(clones(), 2);
  });

  describe("start-up validation", () => {
    test("keeps intact checkouts", async (t) => {
      const { app, source, rows } = await setup(t);
      await app.repos.ensureRepo({ url: source.url });
      assert.deepEqual(await app.repos.validate(), { kept: 1, removed: [] });
      assert.equal((await rows()).length, 1);
    });

    test("removes the row of a deleted directory", async (t) => {
      const { app, source, rows } = await setup(t);
      const checkout = await app.repos.ensureRepo({ url: source.url });
      await rm(checkout.localPath, { recursive: true, force: true });
      const result = await app.repos.validate();
      assert.deepEqual(result.removed, [{ resourceKey: checkout.resourceKey, url: source.url }]);
      assert.deepEqual(await rows(), []);
    });

    test("removes a checkout moved to another commit, with its directory", async (t) => {
      const { app, source, rows } = await setup(t);
      const first = await app.repos.ensureRepo({ url: source.url });
      await commitFiles(source.dir, { "other.md": "x" }, "second");
      git(first.localPath, "-c", "protocol.file.allow=always", "fetch", "--quiet", "origin", "main");
      git(first.localPath, "checkout", "--quiet", "--detach", "FETCH_HEAD");
      assert.equal((await app.repos.validate()).removed.length, 1);
      assert.deepEqual(await rows(), []);
      assert.equal(await exists(first.localPath), false);
    });

    test("removes a directory that is no longer a git checkout", async (t) => {
      const { app, source, rows } = await setup(t);
      const checkout = await app.repos.ensureRepo({ url: source.url });
      await rm(path.join(checkout.localPath, ".git"), { recursive: true, force: true });
      assert.equal((await app.repos.validate()).removed.length, 1);
      assert.deepEqual(await rows(), []);
      assert.equal(await exists(checkout.localPath), false);
    });

    test("removes leftovers no row owns, such as an interrupted clone", async (t) => {
      const clock = makeClock(new Date());
      const { app, source, reposDir, entries } = await setup(t, { clock });
      const checkout = await app.repos.ensureRepo({ url: source.url });
      await mkdir(path.join(reposDir, ".tmp-abandoned-clone"));
      await mkdir(path.join(reposDir, "orphan"));
      clock.advance(day); // the temporary folder is old enough to be abandoned
      await app.repos.validate();
      assert.deepEqual(await entries(), [checkout.resourceKey]);
    });
  });
});
