// What one turn spends in each store call, before and after the stream's `finish`:
// every call of the stores a turn uses is timed by a wrapper put around it, for
// `runs` turns into one session (part of `npm run bench -- turn`). The stores are
// given back their own methods afterwards.
import type { App } from "@session-bridge/server";
import { timedTurn } from "./fixtures.ts";
import { timingOf } from "./measure.ts";

export interface StepRow {
  step: string;
  phase: "before finish" | "after finish";
  callsPerTurn: number;
  p50: number;
}

/** Store calls as a turn makes them, with what each is; `object` is the app's own store. */
const steps = (app: App) =>
  [
    [app.sessions, "acquireTurnLease", "take the lease (one write transaction)"],
    [
      app.memoryStorage.messages,
      "findWithNextAndLast",
      "look for an earlier answer to the same message (a retry), and the session's last message, in one read",
    ],
    [app.storage.turns, "begin", "record the turn (one write)"],
    [app.memoryStorage.messages, "save", "save a message (one write transaction): the user's, then the answer"],
    [app.storage.toolSessions, "listForSession", "load the tool sessions"],
    [app.memoryStorage.messages, "searchText", "keyword search (when the message holds keyword terms)"],
    [
      app.embedder,
      "embed",
      "embed a text: the query (the mock's answer, the same every turn, comes from the embedding cache)",
    ],
    [app.memoryStorage.vectors, "query", "vector search"],
    [app.memoryStorage.vectors, "similarity", "score hits only the keyword search found"],
    [
      app.memoryStorage.messages,
      "recallWindow",
      "recall window: the hits' neighbours, once the hits are found (the last messages are read while the query is embedded)",
    ],
    [app.memories, "forSession", "the user's and the session's memories"],
    [
      app.storage.turns,
      "end",
      "end the turn: status, last chunk batch, trace, usage, lease (one write, while the answer is saved)",
    ],
    [app.memoryStorage.vectors, "upsert", "write the answer's vectors"],
    [app.memoryStorage.messages, "clearPending", "clear the answer's pending rows"],
  ] as const;

export interface TurnSteps {
  rows: StepRow[];
  /**
   * Each measured turn's time to `finish` less its own query's embedding (the
   * embedder's calls before `finish`): what the turn adds to the embedding.
   */
  finishLessEmbedding: number[];
}

export async function measureTurnSteps(
  app: App,
  resourceId: string,
  sessionId: string,
  runs: number,
  query: () => string,
): Promise<TurnSteps> {
  let measuring = false;
  let afterFinish = false;
  const samples = new Map<string, number[]>();
  /** The embedder's time before `finish` in the turn running now. */
  let embedding = 0;
  const finishLessEmbedding: number[] = [];
  const restore: (() => void)[] = [];
  for (const [object, method, step] of steps(app)) {
    const target = object as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const own = target[method];
    if (!own) throw new Error(`no ${method} to time`);
    const original = own.bind(object);
    restore.push(() => {
      target[method] = own;
    });
    target[method] = async (...args) => {
      const phase = afterFinish ? "after finish" : "before finish";
      let started = performance.now();
      // A call given a promise of its input (recall asks for its window before its hits are
      // found) is timed from when that input is there.
      const [request] = args as [{ hits?: unknown } | undefined];
      if (request && request.hits instanceof Promise) {
        const hits = request.hits.then((found: unknown) => {
          started = performance.now();
          return found;
        });
        hits.catch(() => undefined); // the store's own failure is the one reported
        args[0] = { ...request, hits };
      }
      try {
        return await original(...args);
      } finally {
        const key = `${step}\u0000${phase}`;
        const took = performance.now() - started;
        if (measuring) samples.set(key, [...(samples.get(key) ?? []), took]);
        if (object === app.embedder && phase === "before finish") embedding += took;
      }
    };
  }
  try {
    for (let index = 0; index < runs + 5; index++) {
      measuring = index >= 5;
      afterFinish = false;
      embedding = 0;
      const { finish } = await timedTurn(app, resourceId, sessionId, query(), () => {
        afterFinish = true;
      });
      if (measuring) finishLessEmbedding.push(finish - embedding);
    }
  } finally {
    for (const undo of restore) undo();
  }
  const rows = steps(app).flatMap(([, , step]) =>
    (["before finish", "after finish"] as const).flatMap((phase) => {
      const times = samples.get(`${step}\u0000${phase}`) ?? [];
      return times.length === 0 ? [] : [{ step, phase, callsPerTurn: times.length / runs, p50: timingOf(times).p50 }];
    }),
  );
  return { rows, finishLessEmbedding };
}

/**
 * Times the embedder's calls a turn makes before its `finish`: `start()` as the
 * turn starts, `finished()` when `finish` arrives, `took()` their sum since
 * `start()`; `restore()` gives the embedder its own method back.
 */
export function embeddingTimer(app: App) {
  const own = app.embedder.embed;
  let took = 0;
  let finished = false;
  app.embedder.embed = async (texts) => {
    const started = performance.now();
    try {
      return await own.call(app.embedder, texts);
    } finally {
      if (!finished) took += performance.now() - started;
    }
  };
  return {
    start() {
      took = 0;
      finished = false;
    },
    finished() {
      finished = true;
    },
    took: () => took,
    restore() {
      app.embedder.embed = own;
    },
  };
}
