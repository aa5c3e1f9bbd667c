/** How a command talks to its user: text, or one JSON line with `--json`. */
export interface Output {
  json: boolean;
  /** The command's result: a text line, or the JSON value with `--json`. */
  result(text: string, value: unknown): void;
  /** Progress on a TTY (stderr), overwritten in place; silent otherwise. */
  progress(text: string): void;
}

export function createOutput(json: boolean, stdout = process.stdout, stderr = process.stderr): Output {
  let progressShown = false;
  return {
    json,
    result(text, value) {
      if (progressShown) stderr.write("\r\x1b[2K");
      stdout.write(`${json ? JSON.stringify(value) : text}\n`);
    },
    progress(text) {
      if (json || !stderr.isTTY) return;
      progressShown = true;
      stderr.write(`\r\x1b[2K${text}`);
    },
  };
}
