// The HTTP load both the sessions-API benchmarks use: client loops in a worker
// thread (so that they do not share the servers' event loop), and the data
// they read. This module is also the worker's entry point.
import http from "node:http";
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import type { App } from "@session-bridge/server";
import type { ChatMessage } from "@session-bridge/shared";
import { v7 as uuidv7 } from "uuid";
import { makeTexts } from "./fixtures.ts";
import { type Timing, timingOf } from "./measure.ts";

/** One measured load: `concurrency` client loops sending GETs to `urls` for `durationMs`. */
export interface LoadJob {
  urls: string[];
  headers: Record<string, string>;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  /** Milliseconds per request, for every request completed inside the measured window. */
  latencies: number[];
  seconds: number;
  failures: number;
  /**
   * CPU time of the thread that called `runLoad` (the servers') during the measured
   * window, in milliseconds: what serving cost on that thread (V8's garbage-collection
   * helpers and libuv's pool are other threads, not counted).
   */
  serverCpuMs: number;
}

/** What the client thread posts: the measured window's start and end as they pass, then the result. */
type ClientMessage =
  | { kind: "window-start" }
  | { kind: "window-end" }
  | { kind: "result"; result: Omit<LoadResult, "serverCpuMs"> };

if (!isMainThread) runClientThread();

/** The worker thread that runs every load job sent to it (terminate it when done). */
export function startLoadClients(): Worker {
  return new Worker(new URL(import.meta.url));
}

export function runLoad(worker: Worker, job: LoadJob): Promise<LoadResult> {
  if (typeof process.threadCpuUsage !== "function") throw new Error("the load benchmarks need Node 22.19 or later");
  return new Promise((resolve, reject) => {
    let started: NodeJS.CpuUsage | undefined;
    let serverCpuMs = Number.NaN;
    const onMessage = (message: ClientMessage) => {
      if (message.kind === "window-start") started = process.threadCpuUsage();
      else if (message.kind === "window-end" && started) {
        const used = process.threadCpuUsage(started);
        serverCpuMs = (used.user + used.system) / 1000;
      } else if (message.kind === "result") {
        worker.off("message", onMessage);
        worker.off("error", reject);
        resolve({ ...message.result, serverCpuMs });
      }
    };
    worker.on("message", onMessage);
    worker.once("error", reject);
    worker.postMessage(job);
  });
}

/** The worker's side: runs each job it is sent and posts back what it measured. */
function runClientThread(): void {
  parentPort?.on("message", async (job: LoadJob) => {
    const post = (message: ClientMessage) => parentPort?.postMessage(message);
    post({ kind: "result", result: await clientLoops(job, post) });
  });
}

async function clientLoops(
  job: LoadJob,
  post: (message: ClientMessage) => void,
): Promise<Omit<LoadResult, "serverCpuMs">> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const started = performance.now();
  const measureFrom = started + job.warmupMs;
  const end = measureFrom + job.durationMs;
  setTimeout(() => post({ kind: "window-start" }), job.warmupMs);
  setTimeout(() => post({ kind: "window-end" }), job.warmupMs + job.durationMs);
  const latencies: number[] = [];
  let failures = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const url = job.urls[Math.floor(Math.random() * job.urls.length)] as string;
      const sent = performance.now();
      const status = await get(url, job.headers, agent);
      const done = performance.now();
      if (status !== 200) failures++;
      // Throughput counts what completed inside the window; requests still in flight at its end do not count.
      if (done >= measureFrom && done <= end) latencies.push(done - sent);
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  agent.destroy();
  return { latencies, seconds: job.durationMs / 1000, failures };
}

/**
 * One GET, body read to the end. node:http rather than fetch: on the reference
 * machine undici's fetch managed about a third of the requests per second from
 * one thread, so the floor would have measured the client.
 */
function get(url: string, headers: Record<string, string>, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent }, (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", reject);
      })
      .on("error", reject);
  });
}

export function summarizeLoad(result: LoadResult): { perSecond: number; latency: Timing; cpuMicros: number } {
  if (result.failures > 0) throw new Error(`${result.failures} requests failed`);
  if (!Number.isFinite(result.serverCpuMs)) throw new Error("the measured window's CPU time was not taken");
  return {
    perSecond: result.latencies.length / result.seconds,
    latency: timingOf(result.latencies),
    // The servers' thread's CPU time per request completed in the window.
    cpuMicros: (result.serverCpuMs * 1000) / result.latencies.length,
  };
}

/**
 * The user's sessions, each with a short conversation saved the way a turn
 * saves it (through the memory bridge; vectors left pending, as the routes
 * measured never read them). Returns the session ids.
 */
export async function populateSessions(
  app: App,
  resourceId: string,
  sessions: number,
  perSession: number,
): Promise<string[]> {
  process.stderr.write(`populating ${sessions.toLocaleString("en-US")} sessions of ${perSession} messages…\n`);
  const texts = makeTexts(sessions * perSession, 5);
  const sessionIds: string[] = [];
  for (let index = 0; index < sessions; index++) {
    const session = await app.sessions.create(resourceId, { title: texts[index * perSession]?.slice(0, 60) ?? null });
    const messages = Array.from({ length: perSession }, (_, position): ChatMessage => {
      const text = texts[index * perSession + position] as string;
      return position % 2 === 0
        ? { id: uuidv7(), role: "user", parts: [{ type: "text", text }] }
        : {
            id: uuidv7(),
            role: "assistant",
            parts: [{ type: "step-start" }, { type: "text", text, state: "done" }],
            metadata: {
              sessionId: session.id,
              model: "local:demo",
              status: "complete",
              usage: { inputTokens: 120, outputTokens: 24, totalTokens: 144 },
            },
          };
    });
    await app.memory.save({ sessionId: session.id, resourceId, messages, index: "later" });
    sessionIds.push(session.id);
  }
  return sessionIds;
}

/** The cursor that starts page `page` (of 50) of the session list. */
export async function pageCursor(base: string, headers: Record<string, string>, page: number): Promise<string> {
  let cursor = "";
  for (let index = 0; index < page; index++) {
    const response = await fetch(`${base}/api/sessions?limit=50${cursor ? `&cursor=${cursor}` : ""}`, { headers });
    const { nextCursor } = (await response.json()) as { nextCursor: string | null };
    if (!nextCursor) break;
    cursor = nextCursor;
  }
  return cursor;
}
