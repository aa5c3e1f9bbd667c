// npm run bench -- http [--sessions 1000] [--messages 4] [--concurrency 50] [--duration 10] [--rounds 3]
//
// Requests per second and latency of the sessions API (list, a cursor page, get)
// over real HTTP with AUTH=apikey, for one user holding `--sessions` sessions,
// under `--concurrency` keep-alive clients. Beside it, the floor: a bare Hono
// handler on @hono/node-server answering the same paths with the identical
// JSON bytes captured from the real server; and the bridge again with its
// answer cache off (each read made afresh). The clients run in a worker thread
// (bench/http-load.ts), so that they do not share the servers' event loop. Each
// cell runs `--rounds` times, the three servers in turn; the table shows each
// server's median round (the floor alone varied 9k-20k requests/s between runs),
// and the CPU time the servers' thread spent per request (median of the rounds):
// the floor is bound by the client thread as much as by its server, on two cores.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import {
  createApp,
  createHttpApp,
  createLogger,
  type HttpServer,
  loadConfig,
  startHttpServer,
} from "@session-bridge/server";
import { Hono } from "hono";
import pino from "pino";
import { loadUseLiteEmbedder } from "../packages/server/src/memory/embedders/use-lite.ts";
import { pageCursor, populateSessions, runLoad, startLoadClients, summarizeLoad } from "./http-load.ts";
import { formatMarkdown, formatTable, machine, type Timing, updateReadme, writeResults } from "./measure.ts";

interface Round {
  perSecond: number;
  latency: Timing;
  /** The servers' thread's CPU time per request (µs). */
  cpuMicros: number;
}

interface Row {
  request: string;
  /** The median round by requests per second, with the median CPU per request of all rounds. */
  bridge: Round;
  floor: Round;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sessions: { type: "string" },
      messages: { type: "string" },
      concurrency: { type: "string" },
      duration: { type: "string" },
      rounds: { type: "string" },
    },
  });
  const sessionCount = Number(values.sessions ?? 1000);
  const messagesPerSession = Number(values.messages ?? 4);
  const concurrency = Number(values.concurrency ?? 50);
  const durationMs = Number(values.duration ?? 10) * 1000;
  const rounds = Number(values.rounds ?? 3);
  const warmupMs = 2000;

  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-bench-"));
  // Request logs go where a server's would, at the default level, but not onto the table.
  const logger = createLogger("info", pino.destination({ dest: "/dev/null", sync: false }));
  const app = await createApp(loadConfig({ DATA_DIR: directory, AUTH: "apikey" }), {
    embedder: await loadUseLiteEmbedder(),
    logger,
  });
  const clients = startLoadClients();
  const servers: HttpServer[] = [];
  const rows: Row[] = [];
  try {
    const { user, apiKey } = await app.users.create("bench");
    const sessionIds = await populateSessions(app, user.id, sessionCount, messagesPerSession);
    const bridge = await startHttpServer(createHttpApp(app), { host: "127.0.0.1", port: 0 });
    servers.push(bridge);
    // The same app with its answer cache off (API_CACHE_MB=0): every read made afresh.
    const uncached = await startHttpServer(createHttpApp({ ...app, config: { ...app.config, apiCacheBytes: 0 } }), {
      host: "127.0.0.1",
      port: 0,
    });
    servers.push(uncached);
    const tokenResponse = await fetch(`${bridge.url}/api/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiKey }),
    });
    const { token } = (await tokenResponse.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}` };

    // The paths measured, and the exact bytes the real server answers on each.
    const middle = await pageCursor(bridge.url, headers, Math.floor(sessionCount / 100));
    const cases: { request: string; paths: string[] }[] = [
      { request: "GET /api/sessions?limit=50 (first page)", paths: ["/api/sessions?limit=50"] },
      {
        request: "GET /api/sessions?limit=50&cursor=… (a middle page)",
        paths: [`/api/sessions?limit=50&cursor=${middle}`],
      },
      { request: "GET /api/sessions/:id (random session)", paths: sessionIds.map((id) => `/api/sessions/${id}`) },
    ];
    const bodies = new Map<string, Buffer>();
    for (const { paths } of cases) {
      for (const requestPath of paths) {
        const response = await fetch(`${bridge.url}${requestPath}`, { headers });
        if (response.status !== 200) throw new Error(`${requestPath} answered ${response.status}`);
        bodies.set(requestPath, Buffer.from(await response.arrayBuffer()));
      }
    }
    const floor = await startFloorServer(bodies);
    servers.push(floor);

    for (const { request, paths } of cases) {
      process.stderr.write(`measuring ${request}…\n`);
      const load = (base: string) =>
        runLoad(clients, {
          urls: paths.map((requestPath) => `${base}${requestPath}`),
          headers,
          concurrency,
          warmupMs,
          durationMs,
        });
      const bridgeRounds: Round[] = [];
      const uncachedRounds: Round[] = [];
      const floorRounds: Round[] = [];
      for (let round = 0; round < rounds; round++) {
        bridgeRounds.push(summarizeLoad(await load(bridge.url)));
        uncachedRounds.push(summarizeLoad(await load(uncached.url)));
        floorRounds.push(summarizeLoad(await load(floor.url)));
      }
      const floorRound = medianRound(floorRounds);
      rows.push({ request, bridge: medianRound(bridgeRounds), floor: floorRound });
      rows.push({ request: `${request}, cache off`, bridge: medianRound(uncachedRounds), floor: floorRound });
    }
  } finally {
    await clients.terminate();
    for (const server of servers) await server.close();
    await app.close();
    await rm(directory, { recursive: true, force: true });
  }

  const headers = [
    "request",
    "bridge req/s",
    "bridge p50 ms",
    "bridge p95 ms",
    "floor req/s",
    "floor p50 ms",
    "floor p95 ms",
    "req/s vs floor",
    "bridge CPU µs/req",
    "floor CPU µs/req",
    "CPU vs floor",
  ];
  const table = rows.map((row) => [
    row.request,
    row.bridge.perSecond.toFixed(0),
    ms(row.bridge.latency.p50),
    ms(row.bridge.latency.p95),
    row.floor.perSecond.toFixed(0),
    ms(row.floor.latency.p50),
    ms(row.floor.latency.p95),
    `${((row.bridge.perSecond / row.floor.perSecond) * 100).toFixed(0)} %`,
    row.bridge.cpuMicros.toFixed(0),
    row.floor.cpuMicros.toFixed(0),
    `${((row.floor.cpuMicros / row.bridge.cpuMicros) * 100).toFixed(0)} %`,
  ]);
  process.stdout.write(`\n${formatTable(headers, table)}\n`);
  const file = await writeResults("http", {
    benchmark: "http",
    sessions: sessionCount,
    messagesPerSession,
    concurrency,
    durationMs,
    rounds,
    machine: await machine(),
    rows,
  });
  await updateReadme(
    "http",
    `${formatMarkdown(headers, table)}\n\n_${sessionCount.toLocaleString("en-US")} sessions of ${messagesPerSession} messages, ` +
      `${concurrency} keep-alive clients, ${durationMs / 1000} s per round after ${warmupMs / 1000} s of warm-up, ` +
      `the median of ${rounds} rounds per cell (bridge, bridge with its cache off, floor, in turn); ` +
      `${new Date().toISOString().slice(0, 10)}, Node ${process.version}._`,
  );
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)} and bench/README.md\n`);
}

/** The round with the median requests per second, with the median CPU per request of all rounds. */
function medianRound(results: Round[]): Round {
  const middle = <T>(sorted: T[]) => sorted[Math.floor((sorted.length - 1) / 2)];
  const median = middle([...results].sort((a, b) => a.perSecond - b.perSecond));
  const cpuMicros = middle(results.map((round) => round.cpuMicros).sort((a, b) => a - b));
  if (!median || cpuMicros === undefined) throw new Error("no rounds measured");
  return { ...median, cpuMicros };
}

/** A bare Hono app answering each captured path with its captured bytes: what HTTP alone costs. */
function startFloorServer(bodies: Map<string, Buffer>): Promise<HttpServer> {
  const floor = new Hono();
  floor.get("/api/*", (context) => {
    const url = new URL(context.req.url);
    const body = bodies.get(`${url.pathname}${url.search}`);
    if (!body) return context.json({ error: { code: "not_found", message: "not captured" } }, 404);
    return context.body(new Uint8Array(body), 200, { "content-type": "application/json" });
  });
  return new Promise((resolve) => {
    const server = serve({ fetch: floor.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          }),
      });
    });
  });
}

const ms = (milliseconds: number) => milliseconds.toFixed(2);
