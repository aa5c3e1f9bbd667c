import { execFile } from "node:child_process";

export interface GitOptions {
  cwd?: string;
  timeoutMs: number;
  /** Allow the `file` transport (local repositories). */
  allowFile?: boolean;
  /** Stop repository discovery above this folder (GIT_CEILING_DIRECTORIES). */
  ceiling?: string;
}

export class GitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = "GitError";
  }
}

/**
 * Runs `git` with an argument array (never a shell), no prompts, no user or
 * system configuration, only the https transport (and file when allowed), and
 * a hard timeout. Returns stdout, trimmed.
 */
export function runGit(args: string[], options: GitOptions): Promise<string> {
  const config = [
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.https.allow=always",
    "-c",
    `protocol.file.allow=${options.allowFile ? "always" : "never"}`,
    "-c",
    "credential.helper=",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "advice.detachedHead=false",
  ];
  const environment: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: "C",
    LC_ALL: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "true",
    SSH_ASKPASS: "true",
    GCM_INTERACTIVE: "never",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_PROTOCOL_FROM_USER: "0",
    ...(options.ceiling ? { GIT_CEILING_DIRECTORIES: options.ceiling } : {}),
  };
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      [...config, ...args],
      {
        cwd: options.cwd,
        env: environment,
        timeout: options.timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 16 * 1024 * 1024,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout.trim());
        const timedOut = error.killed === true && error.signal === "SIGKILL";
        const exitCode = typeof error.code === "number" ? error.code : null;
        const subcommand = args.find((arg) => !arg.startsWith("-")) ?? "command";
        reject(
          new GitError(
            timedOut ? `git ${subcommand} timed out after ${options.timeoutMs} ms` : `git ${subcommand} failed`,
            exitCode,
            String(stderr),
            timedOut,
          ),
        );
      },
    );
  });
}
