import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ChatMessage } from "@session-bridge/shared";

/** The `session-bridge` command, as `npx session-bridge` runs it. */
export const sessionBridgeBin = fileURLToPath(new URL("../packages/server/bin/session-bridge.js", import.meta.url));

/** Runs one `session-bridge` command to its end: exit code, stdout and stderr (a failing exit is a result, not a throw). */
export async function runSessionBridge(args: string[], environment: Record<string, string>) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [sessionBridgeBin, ...args], {
      env: { ...process.env, LOG_LEVEL: "warn", ...environment },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every log line the process wrote so far, parsed. */
  logs: Record<string, unknown>[];
}

/** A real server process on `dataDir` (port 0, offline demo model), resolved once it reports ready. */
export async function startServer(
  t: TestContext,
  dataDir: string,
  environment: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [sessionBridgeBin, "serve"], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: "0",
      LOG_LEVEL: "info",
      AUTH: "none",
      MODEL: "local:demo",
      ...environment,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => child.kill("SIGKILL"));
  const logs: Record<string, unknown>[] = [];
  // Every line is kept, before and after ready (a `for await` over readline would close it on break).
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => {
      const entry = JSON.parse(line) as { msg: string; url?: string };
      logs.push(entry);
      if (entry.msg === "session bridge ready" && entry.url) resolve(entry.url);
    });
    child.once("exit", () => reject(new Error("the server exited before it was ready")));
  });
  return { child, url, logs };
}

/** SIGKILL, waiting for the exit. */
export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

/** SIGTERM (a graceful stop), resolving with the exit code. */
export async function terminate(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const [code] = await exited;
  return code as number | null;
}

/** Posts a turn and resolves with the session id once `data-session` arrived; the rest streams on. */
export async function startTurn(url: string, message: ChatMessage, sessionId?: string) {
  const response = await fetch(`${url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [message], ...(sessionId ? { sessionId } : {}) }),
  });
  if (response.status !== 200) return { status: response.status, sessionId: undefined, rest: Promise.resolve("") };
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes('"data-session"')) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const rest = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return text;
        text += decoder.decode(value);
      }
    } catch {
      return text; // the process was killed mid-stream
    }
  })();
  return { status: 200, sessionId: /"sessionId":"([^"]+)"/.exec(text)?.[1], rest };
}
