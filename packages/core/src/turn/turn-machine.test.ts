import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ChatMessage, SessionNotFoundError } from "@session-bridge/shared";
import { createActor, toPromise } from "xstate";
import type { RecallResult } from "../ports/conversation-memory.ts";
import type { Session } from "../ports/session-store.ts";
import { runTurn } from "./run-turn.ts";
import { turnActors } from "./turn-actors.ts";
import { failedTrace, turnMachine } from "./turn-machine.ts";
import type { GenerateInput, SaveTurnInput, TurnEffects, TurnOutput, TurnState } from "./turn-types.ts";

const session: Session = {
  id: "0190a000-0000-7000-8000-000000000001",
  resourceId: "alice",
  title: null,
  createdAt: new Date(0),
  lastAccessed: new Date(0),
};
const userMessage: ChatMessage = { id: "u1", role: "user", parts: [{ type: "text", text: "hello" }] };
const answer: ChatMessage = { id: "a1", role: "assistant", parts: [{ type: "text", text: "hi" }] };
const recall: RecallResult = {
  recent: [],
  recalled: [
    {
      message: { id: "old", role: "user", parts: [{ type: "text", text: "x".repeat(300) }] },
      sessionId: "other",
      score: 0.75,
      foundBy: ["vector"],
    },
  ],
  memories: [],
};

/** Fake effects that record their calls; a test overrides what it needs. */
function fakeEffects(overrides: Partial<TurnEffects> = {}) {
  const saved: SaveTurnInput[] = [];
  const effects: TurnEffects = {
    resolveSession: async () => ({ session, replay: null }),
    loadToolSessions: async () => [],
    recallMemory: async () => recall,
    generate: async () => ({
      assistantMessage: answer,
      status: "complete",
      usage: { inputTokens: 12, outputTokens: 3 },
      toolCalls: [{ toolName: "sequentialThinking", input: { thought: "a" }, output: { ok: true } }],
    }),
    saveTurn: async (input) => {
      saved.push(input);
    },
    keepLease: () => () => {},
    watchStopRequests: () => () => {},
    ...overrides,
  };
  return { effects, saved };
}

function steppingClock() {
  let tick = 0;
  return { now: () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000) };
}

function startTurn(effects: TurnEffects) {
  const actor = createActor(turnMachine.provide({ actors: turnActors(effects) }), {
    input: {
      turnId: "turn-1",
      resourceId: "alice",
      sessionId: null,
      userMessage,
      trigger: "submit-message",
      model: "test:model",
      clock: steppingClock(),
    },
  });
  actor.start();
  return { actor, output: runTurn(actor) };
}

const states = (output: TurnOutput) => output.trace.transitions.map((transition) => transition.state);

describe("turn machine", () => {
  test("runs every step in order and records a trace", async () => {
    const { effects, saved } = fakeEffects();
    const output = await startTurn(effects).output;
    assert.equal(output.status, "complete");
    assert.deepEqual(states(output), [
      "resolvingSession",
      "loadingToolSessions",
      "recallingMemory",
      "generating",
      "saving",
      "done",
    ]);
    assert.deepEqual(output.assistantMessage, answer);
    assert.deepEqual(saved, [{ session, userMessage, assistantMessage: answer, status: "complete" }]);
    assert.equal(output.trace.model, "test:model");
    assert.deepEqual(output.trace.usage, { inputTokens: 12, outputTokens: 3 });
    assert.equal(output.trace.toolCalls[0]?.toolName, "sequentialThinking");
    assert.deepEqual(output.trace.recalled, [
      { messageId: "old", sessionId: "other", excerpt: "x".repeat(200), score: 0.75, foundBy: ["vector"] },
    ]);
    assert.ok(output.trace.endedAt && output.trace.endedAt > output.trace.startedAt);
    const times = output.trace.transitions.map((transition) => transition.at.getTime());
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
  });

  test("hands each step what the previous ones produced", async () => {
    let generateInput: GenerateInput | undefined;
    const toolSession = {
      id: "t1",
      sessionId: session.id,
      toolName: "sequentialThinking",
      toolKey: null,
      state: {},
      stateVersion: 0,
      createdAt: new Date(0),
      lastAccessed: new Date(0),
    };
    const { effects } = fakeEffects({
      loadToolSessions: async (input) => {
        assert.equal(input.session, session);
        return [toolSession];
      },
      generate: async (input) => {
        generateInput = input;
        return {
          assistantMessage: answer,
          status: "complete",
          usage: { inputTokens: 0, outputTokens: 0 },
          toolCalls: [],
        };
      },
    });
    await startTurn(effects).output;
    assert.deepEqual(generateInput?.toolSessions, [toolSession]);
    assert.equal(generateInput?.recall, recall);
    assert.equal(generateInput?.userMessage, userMessage);
  });

  const failingAt: [TurnState, keyof TurnEffects][] = [
    ["resolvingSession", "resolveSession"],
    ["loadingToolSessions", "loadToolSessions"],
    ["recallingMemory", "recallMemory"],
    ["generating", "generate"],
    ["saving", "saveTurn"],
  ];
  for (const [state, effect] of failingAt) {
    test(`a failure while ${state} ends in failed with a typed error and a safe message`, async () => {
      const { effects, saved } = fakeEffects({
        [effect]: async () => {
          throw new Error("database password is hunter2");
        },
      });
      const output = await startTurn(effects).output;
      assert.equal(output.status, "failed");
      assert.equal(output.error?.state, state);
      assert.equal(output.error?.code, `${state}_failed`);
      assert.doesNotMatch(output.error?.message ?? "", /hunter2/);
      assert.equal(states(output).at(-1), "failed");
      assert.equal(states(output).at(-2), state);
      if (effect !== "saveTurn") assert.deepEqual(saved, []);
    });
  }

  test("a save that fails after the turn ended done is traced as the machine traces a failed save", async () => {
    const ended = (await startTurn(fakeEffects().effects).output).trace;
    const failedSave = (
      await startTurn(
        fakeEffects({
          saveTurn: async () => {
            throw new Error("disk full");
          },
        }).effects,
      ).output
    ).trace;
    const traced = failedTrace(ended);
    assert.equal(traced.outcome, "failed");
    assert.deepEqual(
      traced.transitions.map((transition) => transition.state),
      failedSave.transitions.map((transition) => transition.state),
    );
    assert.equal(traced.transitions.at(-1)?.at, ended.transitions.at(-1)?.at);
    assert.deepEqual({ ...traced, outcome: ended.outcome, transitions: ended.transitions }, ended);
  });

  test("an error meant for the client keeps its code and message", async () => {
    const { effects } = fakeEffects({
      resolveSession: async () => {
        throw new SessionNotFoundError(session.id);
      },
    });
    const output = await startTurn(effects).output;
    assert.deepEqual([output.error?.code, output.error?.message], ["session_not_found", "Session not found"]);
    assert.equal(output.session, null);
  });

  test("stop while generating ends generation, saves the partial answer as stopped and ends aborted", async () => {
    const partial: ChatMessage = { id: "a1", role: "assistant", parts: [{ type: "text", text: "hal" }] };
    let started!: () => void;
    const generating = new Promise<void>((resolve) => {
      started = resolve;
    });
    const { effects, saved } = fakeEffects({
      generate: ({ signal }) =>
        new Promise((resolve) => {
          started();
          signal.addEventListener("abort", () =>
            resolve({
              assistantMessage: partial,
              status: "stopped",
              usage: { inputTokens: 5, outputTokens: 1 },
              toolCalls: [],
            }),
          );
        }),
    });
    const { actor, output } = startTurn(effects);
    await generating;
    actor.send({ type: "stop" });
    const result = await output;
    assert.equal(result.status, "stopped");
    assert.deepEqual(states(result).slice(-3), ["generating", "saving", "aborted"]);
    assert.deepEqual(saved, [{ session, userMessage, assistantMessage: partial, status: "stopped" }]);
  });

  test("stop before generation ends aborted without calling the model or saving", async () => {
    let generated = false;
    let release!: () => void;
    const { effects, saved } = fakeEffects({
      recallMemory: () =>
        new Promise((resolve) => {
          release = () => resolve(recall);
        }),
      generate: async () => {
        generated = true;
        throw new Error("unreachable");
      },
    });
    const { actor, output } = startTurn(effects);
    await new Promise((resolve) => setImmediate(resolve));
    actor.send({ type: "stop" });
    release();
    const result = await output;
    assert.equal(result.status, "stopped");
    assert.equal(states(result).at(-1), "aborted");
    assert.equal(generated, false);
    assert.deepEqual(saved, []);
  });

  test("a failure in an action (not an actor) still ends in failed, with the trace as far as it got", async () => {
    let generated = false;
    const { effects, saved } = fakeEffects({
      // A recalled item without its message: turning it into the trace throws inside the machine's own action.
      recallMemory: async () => ({ ...recall, recalled: [{ ...recall.recalled[0], message: undefined } as never] }),
      generate: async () => {
        generated = true;
        throw new Error("unreachable");
      },
    });
    const output = await startTurn(effects).output;
    assert.equal(output.status, "failed");
    assert.equal(output.error?.state, "recallingMemory");
    assert.doesNotMatch(output.error?.message ?? "", /undefined|TypeError/);
    assert.deepEqual(states(output), ["resolvingSession", "loadingToolSessions", "recallingMemory", "failed"]);
    assert.equal(output.trace.outcome, "failed");
    assert.ok(output.trace.endedAt);
    assert.equal(generated, false);
    assert.deepEqual(saved, []);
  });

  test("a user message answered before is replayed: no lease kept, no step run", async () => {
    const calls: string[] = [];
    const { effects, saved } = fakeEffects({
      resolveSession: async () => ({ session, replay: answer }),
      keepLease: () => {
        calls.push("keepLease");
        return () => {};
      },
      recallMemory: async () => {
        calls.push("recall");
        return recall;
      },
    });
    const output = await startTurn(effects).output;
    assert.deepEqual(output.replay, answer);
    assert.equal(output.session, session);
    assert.deepEqual(calls, []);
    assert.deepEqual(saved, []);
  });

  test("the lease is kept and stop requests watched exactly while the turn is active", async () => {
    const log: string[] = [];
    const watcher = (name: string) => () => {
      log.push(`${name} start`);
      return () => log.push(`${name} stop`);
    };
    const { effects } = fakeEffects({
      resolveSession: async () => {
        log.push("resolved");
        return { session, replay: null };
      },
      keepLease: watcher("lease"),
      watchStopRequests: watcher("stop watch"),
      saveTurn: async () => {
        log.push("saved");
      },
    });
    const output = await startTurn(effects).output;
    assert.equal(output.status, "complete");
    assert.deepEqual(log, ["resolved", "lease start", "stop watch start", "saved", "lease stop", "stop watch stop"]);
  });

  for (const [name, signal] of [
    ["a lost lease", "keepLease"],
    ["a stop asked from another process", "watchStopRequests"],
  ] as const) {
    test(`${name} while generating ends generation and the turn as stopped`, async () => {
      let raise!: () => void;
      const { effects, saved } = fakeEffects({
        [signal]: (_input: unknown, notify: () => void) => {
          raise = notify;
          return () => {};
        },
        generate: ({ signal: abort }) =>
          new Promise((resolve) => {
            raise();
            abort.addEventListener("abort", () =>
              resolve({
                assistantMessage: answer,
                status: "stopped",
                usage: { inputTokens: 0, outputTokens: 0 },
                toolCalls: [],
              }),
            );
          }),
      });
      const output = await startTurn(effects).output;
      assert.equal(output.status, "stopped");
      assert.equal(states(output).at(-1), "aborted");
      assert.equal(saved.length, 1);
    });
  }

  test("an actor that was not provided fails the turn instead of hanging", async () => {
    const actor = createActor(turnMachine, {
      input: {
        turnId: "t",
        resourceId: "a",
        sessionId: null,
        userMessage,
        trigger: "submit-message",
        model: "m",
        clock: steppingClock(),
      },
    }).start();
    const output = (await toPromise(actor)) as TurnOutput;
    assert.equal(output.status, "failed");
    assert.equal(output.error?.state, "resolvingSession");
  });
});
