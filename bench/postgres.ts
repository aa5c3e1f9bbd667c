// npm run bench -- postgres [--postgres-url URL] [--runs 30] [--concurrency 50] [--sessions 1000] [--duration 5]
//
// Session Bridge on PostgreSQL beside the embedded libSQL file, in one run:
//  1. the turn: one turn into a session with 100 messages of history (to `finish`, and saved), alternating between
//     the backends, and the turns per second of `--concurrency` sessions taking a turn at once;
//  2. the sessions API over real HTTP (first page of the list, a random session), `--concurrency` keep-alive clients;
//  3. round trips to PostgreSQL per turn, counted by a wrapper around the driver (`pg`'s `Client#query`, which every
//     pool query goes through), before `finish` and in total, with the statements of one turn listed in order;
//  4. turns per second with one and with two server processes (bench/server-process.ts) on one PostgreSQL database.
// The URL (else BENCH_POSTGRES_URL, else TEST_POSTGRES_URL) names a server on which the role may create databases:
// every part gets a fresh database, dropped at the end. `scripts/pg-test-cluster.sh start` starts a throwaway one.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  type App,
  createApp,
  createHttpApp,
  type HttpServer,
  loadConfig,
  startHttpServer,
} from "@session-bridge/server";
import type { ChatMessage } from "@session-bridge/shared";
import { simulateReadableStream } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import pg from "pg";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { mockUsage, textAnswerChunks } from "../fixtures/model-chunks.ts";
import type { Embedder } from "../packages/server/src/memory/embedders/embedder.ts";
import { loadUseLiteEmbedder } from "../packages/server/src/memory/embedders/use-lite.ts";
import { makeTexts, timedTurn } from "./fixtures.ts";
import { populateSessions, runLoad, startLoadClients, summarizeLoad } from "./http-load.ts";
import { formatMarkdown, formatTable, machine, type Timing, timingOf, updateReadme, writeResults } from "./measure.ts";

type Backend = "libSQL file" | "PostgreSQL";
const resourceId = "bench-user";
const answerChunks = textAnswerChunks(["A short answer from the mock model."], { id: "t", usage: mockUsage(10, 8) });
const mockModel = () =>
  new MockLanguageModelV4({ doStream: async () => ({ stream: simulateReadableStream({ chunks: answerChunks }) }) });

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      "postgres-url": { type: "string" },
      runs: { type: "string" },
      concurrency: { type: "string" },
      sessions: { type: "string" },
      duration: { type: "string" },
    },
  });
  const serverUrl = values["postgres-url"] ?? process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL;
  if (!serverUrl) {
    process.stderr.write(
      "bench postgres: no PostgreSQL server; pass --postgres-url or set BENCH_POSTGRES_URL " +
        "(bash scripts/pg-test-cluster.sh start prints the URL of a throwaway one)\n",
    );
    process.exit(2);
  }
  const options = {
    runs: Number(values.runs ?? 30),
    concurrency: Number(values.concurrency ?? 50),
    sessions: Number(values.sessions ?? 1000),
    durationMs: Number(values.duration ?? 5) * 1000,
  };
  const roundTrips = countRoundTrips();
  const databases = createDatabases(serverUrl);
  const embedder = await loadUseLiteEmbedder();
  try {
    const turns = await benchTurns(embedder, databases, roundTrips, options);
    const api = await benchSessionsApi(embedder, databases, options);
    const processes = await benchProcesses(databases, options);
    report({ options, turns, api, processes });
    const file = await writeResults("postgres", {
      benchmark: "postgres",
      options,
      machine: await machine(),
      turns,
      api,
      processes,
    });
    await updateReadme("postgres", markdown({ options, turns, api, processes }));
    process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)} and bench/README.md\n`);
  } finally {
    await databases.dropAll();
  }
}

// ── 1 and 3: the turn, and its round trips ──────────────────────────────────

interface TurnRow {
  backend: Backend;
  finish: Timing;
  total: Timing;
  concurrent: { perSecond: number; finish: Timing };
}

interface RoundTrips {
  beforeFinish: Timing;
  total: Timing;
  /** One turn's statements, in order. */
  statements: { sql: string; beforeFinish: boolean }[];
}

async function benchTurns(
  embedder: Embedder,
  databases: Databases,
  counter: RoundTripCounter,
  options: { runs: number; concurrency: number },
): Promise<{ rows: TurnRow[]; roundTrips: RoundTrips }> {
  const apps = await openBoth(embedder, databases, {});
  try {
    const texts = makeTexts(options.runs * 4 + options.concurrency * 8, 7);
    let next = 0;
    const text = () => texts[next++ % texts.length] as string;
    const sessions = new Map<Backend, string>();
    for (const [backend, app] of apps) sessions.set(backend, await sessionWithHistory(app, makeTexts(100, 3)));

    process.stderr.write("one turn at a time…\n");
    const single = new Map<Backend, { finish: number[]; total: number[] }>();
    for (let index = 0; index < options.runs + 5; index++) {
      for (const [backend, app] of apps) {
        const result = await timedTurn(app, resourceId, sessions.get(backend) as string, text());
        if (index < 5) continue;
        const into = single.get(backend) ?? { finish: [], total: [] };
        into.finish.push(result.finish);
        into.total.push(result.total);
        single.set(backend, into);
      }
    }

    process.stderr.write("counting round trips…\n");
    const postgres = apps.get("PostgreSQL") as App;
    const counts = { beforeFinish: [] as number[], total: [] as number[] };
    let statements: RoundTrips["statements"] = [];
    for (let index = 0; index < 10; index++) {
      const recording = counter.start();
      await timedTurn(postgres, resourceId, sessions.get("PostgreSQL") as string, text(), () => recording.finish());
      const turn = recording.stop();
      counts.beforeFinish.push(turn.filter((statement) => statement.beforeFinish).length);
      counts.total.push(turn.length);
      statements = turn;
    }

    const rows: TurnRow[] = [];
    for (const [backend, app] of apps) {
      process.stderr.write(`${options.concurrency} concurrent turns on ${backend}…\n`);
      const fresh = await Promise.all(
        Array.from({ length: options.concurrency }, () => app.sessions.create(resourceId)),
      );
      const finishes: number[] = [];
      let seconds = 0;
      for (let round = 0; round < 4; round++) {
        const started = performance.now();
        const results = await Promise.all(fresh.map((session) => timedTurn(app, resourceId, session.id, text())));
        // The first round warms up (first turns of fresh sessions).
        if (round === 0) continue;
        seconds += (performance.now() - started) / 1000;
        finishes.push(...results.map((result) => result.finish));
      }
      const samples = single.get(backend) as { finish: number[]; total: number[] };
      rows.push({
        backend,
        finish: timingOf(samples.finish),
        total: timingOf(samples.total),
        concurrent: { perSecond: finishes.length / seconds, finish: timingOf(finishes) },
      });
    }
    return {
      rows,
      roundTrips: { beforeFinish: timingOf(counts.beforeFinish), total: timingOf(counts.total), statements },
    };
  } finally {
    for (const app of apps.values()) await app.close();
  }
}

/** A session holding `texts` as a conversation, embedded, as earlier turns would have left it. */
async function sessionWithHistory(app: App, texts: string[]): Promise<string> {
  const session = await app.sessions.create(resourceId);
  for (let offset = 0; offset < texts.length; offset += 20) {
    const messages = texts.slice(offset, offset + 20).map(
      (text, position): ChatMessage => ({
        id: uuidv7(),
        role: (offset + position) % 2 === 0 ? "user" : "assistant",
        parts: [{ type: "text", text }],
      }),
    );
    await app.memory.save({ sessionId: session.id, resourceId, messages, index: "now" });
  }
  return session.id;
}

interface RoundTripCounter {
  /** Records every statement until `stop`; `finish()` marks the moment the client got `finish`. */
  start(): { finish(): void; stop(): RoundTrips["statements"] };
}

/**
 * Wraps `pg`'s `Client#query`, the one call through which Drizzle, Mastra's
 * `PostgresStore` and `PgVector` reach the server: one call is one round trip.
 */
function countRoundTrips(): RoundTripCounter {
  let recording: { statements: RoundTrips["statements"]; finished: boolean } | undefined;
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function query(this: pg.Client, ...args: unknown[]) {
    if (recording) {
      const [first] = args;
      const sql = typeof first === "string" ? first : ((first as { text?: string } | undefined)?.text ?? "?");
      recording.statements.push({ sql: sql.replace(/\s+/g, " ").trim(), beforeFinish: !recording.finished });
    }
    return original.apply(this, args);
  } as typeof pg.Client.prototype.query;
  return {
    start() {
      const current = { statements: [] as RoundTrips["statements"], finished: false };
      recording = current;
      return {
        finish: () => {
          current.finished = true;
        },
        stop: () => {
          recording = undefined;
          return current.statements;
        },
      };
    },
  };
}

// ── 2: the sessions API ─────────────────────────────────────────────────────

interface ApiRow {
  request: string;
  backend: Backend;
  perSecond: number;
  latency: Timing;
}

async function benchSessionsApi(
  embedder: Embedder,
  databases: Databases,
  options: { sessions: number; concurrency: number; durationMs: number },
): Promise<ApiRow[]> {
  const apps = await openBoth(embedder, databases, { AUTH: "apikey" });
  const clients = startLoadClients();
  const servers: HttpServer[] = [];
  const rows: ApiRow[] = [];
  try {
    for (const [backend, app] of apps) {
      const { user, apiKey } = await app.users.create("bench");
      const sessionIds = await populateSessions(app, user.id, options.sessions, 4);
      const server = await startHttpServer(createHttpApp(app), { host: "127.0.0.1", port: 0 });
      servers.push(server);
      const response = await fetch(`${server.url}/api/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiKey }),
      });
      const { token } = (await response.json()) as { token: string };
      const cases = [
        { request: "GET /api/sessions?limit=50", paths: ["/api/sessions?limit=50"] },
        { request: "GET /api/sessions/:id", paths: sessionIds.map((id) => `/api/sessions/${id}`) },
      ];
      for (const { request, paths } of cases) {
        process.stderr.write(`measuring ${request} on ${backend}…\n`);
        const result = await runLoad(clients, {
          urls: paths.map((requestPath) => `${server.url}${requestPath}`),
          headers: { authorization: `Bearer ${token}` },
          concurrency: options.concurrency,
          warmupMs: 1000,
          durationMs: options.durationMs,
        });
        rows.push({ request, backend, ...summarizeLoad(result) });
      }
    }
  } finally {
    await clients.terminate();
    for (const server of servers) await server.close();
    for (const app of apps.values()) await app.close();
  }
  return rows.sort((a, b) => a.request.localeCompare(b.request));
}

// ── 4: server processes on one database ─────────────────────────────────────

interface ProcessRow {
  processes: number;
  turns: number;
  perSecond: number;
  latency: Timing;
}

const serverScript = fileURLToPath(new URL("./server-process.ts", import.meta.url));

async function benchProcesses(
  databases: Databases,
  options: { concurrency: number; durationMs: number },
): Promise<ProcessRow[]> {
  const rows: ProcessRow[] = [];
  for (const count of [1, 2]) {
    process.stderr.write(`${count} server process(es) on one PostgreSQL database…\n`);
    const url = await databases.create();
    const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-bench-"));
    const children: ChildProcess[] = [];
    try {
      const urls = await Promise.all(
        Array.from({ length: count }, async (_, index) => {
          const child = spawn(process.execPath, ["--import", "tsx", serverScript], {
            env: {
              ...process.env,
              DATABASE_URL: url,
              DATA_DIR: path.join(directory, String(index)),
              AUTH: "none",
              LOG_LEVEL: "warn",
            },
            stdio: ["ignore", "pipe", "inherit"],
          });
          children.push(child);
          const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), "line")) as [
            string,
          ];
          return (JSON.parse(line) as { url: string }).url;
        }),
      );
      // Each client keeps one session and sends its next message when the last answer finished; clients are
      // spread over the processes, and a session's turns go to any of them (a load balancer without affinity).
      const clients = Array.from({ length: options.concurrency }, (_, index) => ({ index, sessionId: "" }));
      await Promise.all(
        clients.map(async (client) => {
          client.sessionId = (await chatTurn(urls[client.index % count] as string, undefined)).sessionId;
        }),
      );
      const started = performance.now();
      const end = started + options.durationMs;
      const latencies: number[] = [];
      await Promise.all(
        clients.map(async (client) => {
          let turn = client.index;
          while (performance.now() < end) {
            const sent = performance.now();
            await chatTurn(urls[turn++ % count] as string, client.sessionId);
            latencies.push(performance.now() - sent);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      rows.push({
        processes: count,
        turns: latencies.length,
        perSecond: latencies.length / seconds,
        latency: timingOf(latencies),
      });
    } finally {
      for (const child of children) {
        child.kill("SIGTERM");
        if (child.exitCode === null) await once(child, "exit");
      }
      await rm(directory, { recursive: true, force: true });
    }
  }
  return rows;
}

/** One turn over HTTP, read to its end; throws unless it was answered and finished. */
async function chatTurn(url: string, sessionId: string | undefined): Promise<{ sessionId: string }> {
  const message: ChatMessage = { id: uuidv7(), role: "user", parts: [{ type: "text", text: "How is it going?" }] };
  const response = await fetch(`${url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [message], ...(sessionId ? { sessionId } : {}) }),
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('"type":"finish"')) {
    throw new Error(`a turn answered ${response.status}: ${text.slice(0, 200)}`);
  }
  return { sessionId: sessionId ?? (/"sessionId":"([^"]+)"/.exec(text)?.[1] as string) };
}

// ── databases and apps ──────────────────────────────────────────────────────

interface Databases {
  /** A fresh, empty database on the server; its URL. */
  create(): Promise<string>;
  dropAll(): Promise<void>;
}

function createDatabases(serverUrl: string): Databases {
  const created: string[] = [];
  const admin = () => new pg.Client({ connectionString: serverUrl });
  return {
    async create() {
      const name = `session_bridge_bench_${uuidv7().replaceAll("-", "")}`;
      const client = admin();
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      created.push(name);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async dropAll() {
      const client = admin();
      await client.connect();
      try {
        for (const name of created) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The same app on a fresh libSQL data directory and on a fresh PostgreSQL database. */
async function openBoth(
  embedder: Embedder,
  databases: Databases,
  environment: Record<string, string>,
): Promise<Map<Backend, App>> {
  const apps = new Map<Backend, App>();
  const logger = pino({ level: "silent" });
  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-bench-"));
  const base = { DATA_DIR: directory, LOG_LEVEL: "silent", ...environment };
  apps.set("libSQL file", await createApp(loadConfig(base), { embedder, model: mockModel(), logger }));
  const url = await databases.create();
  apps.set(
    "PostgreSQL",
    await createApp(loadConfig({ ...base, DATABASE_URL: url }), { embedder, model: mockModel(), logger }),
  );
  return apps;
}

// ── output ──────────────────────────────────────────────────────────────────

interface Results {
  options: { runs: number; concurrency: number; sessions: number; durationMs: number };
  turns: { rows: TurnRow[]; roundTrips: RoundTrips };
  api: ApiRow[];
  processes: ProcessRow[];
}

const ms = (milliseconds: number) => milliseconds.toFixed(1);

function tables({ options, turns, api, processes }: Results) {
  return {
    turn: {
      headers: [
        "backend",
        "to finish p50 ms",
        "to finish p95 ms",
        "turn saved p50 ms",
        "turn saved p95 ms",
        `${options.concurrency} at once: turns/s`,
        `${options.concurrency} at once: finish p95 ms`,
      ],
      rows: turns.rows.map((row) => [
        row.backend,
        ms(row.finish.p50),
        ms(row.finish.p95),
        ms(row.total.p50),
        ms(row.total.p95),
        row.concurrent.perSecond.toFixed(1),
        ms(row.concurrent.finish.p95),
      ]),
    },
    api: {
      headers: ["request", "backend", "req/s", "p50 ms", "p95 ms"],
      rows: api.map((row) => [
        row.request,
        row.backend,
        row.perSecond.toFixed(0),
        ms(row.latency.p50),
        ms(row.latency.p95),
      ]),
    },
    roundTrips: {
      headers: ["round trips per turn", "p50", "p95"],
      rows: [
        ["before finish", turns.roundTrips.beforeFinish.p50, turns.roundTrips.beforeFinish.p95],
        ["in total (saved, embedded, traced)", turns.roundTrips.total.p50, turns.roundTrips.total.p95],
      ],
    },
    processes: {
      headers: ["server processes", "turns", "turns/s", "turn p50 ms", "turn p95 ms"],
      rows: processes.map((row) => [
        row.processes,
        row.turns,
        row.perSecond.toFixed(1),
        ms(row.latency.p50),
        ms(row.latency.p95),
      ]),
    },
  };
}

/** The statements of one turn, numbered, each cut to one line. */
function statementList(statements: RoundTrips["statements"]): string[] {
  return statements.map(
    (statement, index) =>
      `${String(index + 1).padStart(2)}. ${statement.beforeFinish ? "" : "(after finish) "}${statement.sql.slice(0, 150)}`,
  );
}

function report(results: Results): void {
  const all = tables(results);
  for (const table of Object.values(all)) process.stdout.write(`\n${formatTable(table.headers, table.rows)}\n`);
  process.stdout.write(
    `\nthe statements of one turn on PostgreSQL:\n${statementList(results.turns.roundTrips.statements).join("\n")}\n`,
  );
}

function markdown(results: Results): string {
  const all = tables(results);
  const { options } = results;
  return [
    "**The turn** (a session with 100 messages of history; the backends alternate)",
    "",
    formatMarkdown(all.turn.headers, all.turn.rows),
    "",
    `**The sessions API** (1 user, ${options.sessions.toLocaleString("en-US")} sessions of 4 messages, ${options.concurrency} keep-alive clients, ${options.durationMs / 1000} s per cell)`,
    "",
    formatMarkdown(all.api.headers, all.api.rows),
    "",
    "**Round trips to PostgreSQL per turn**",
    "",
    formatMarkdown(all.roundTrips.headers, all.roundTrips.rows),
    "",
    "<details><summary>The statements of one turn, in order</summary>",
    "",
    "```",
    ...statementList(results.turns.roundTrips.statements),
    "```",
    "",
    "</details>",
    "",
    `**Server processes on one PostgreSQL database** (${options.concurrency} clients, each sending its next message when the last one finished, to any process; ${options.durationMs / 1000} s)`,
    "",
    formatMarkdown(all.processes.headers, all.processes.rows),
    "",
    `_${options.runs} single turns per backend; ${new Date().toISOString().slice(0, 10)}, Node ${process.version}._`,
  ].join("\n");
}
