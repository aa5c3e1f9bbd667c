import { readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { v7 as uuidv7 } from "uuid";

/**
 * This machine as far as pids mean anything: the host name plus the pid
 * namespace, so containers that share a host name (each often pid 1) are told apart.
 */
function pidSpace(): string {
  try {
    return `${hostname()}/${readlinkSync("/proc/self/ns/pid").replace(/\D/g, "")}`;
  } catch {
    return hostname();
  }
}

/** The `host:` prefix of owners whose pids this process can check. */
export const hostPrefix = `${pidSpace().replaceAll(":", "_")}:`;

/** This process, as recorded with the turns it runs: `host:pid:instance`. */
export const processOwner = `${hostPrefix}${process.pid}:${uuidv7()}`;

/**
 * True when `owner` names a process on this machine that is certainly gone:
 * its pid is not running, or it is this pid under another instance (a pid
 * reused after a crash). Owners on other machines are never judged here; their
 * turns are recovered when their lease expires.
 */
export function isOwnerGone(owner: string): boolean {
  if (!owner.startsWith(hostPrefix)) return false;
  const [pidText, instance] = owner.slice(hostPrefix.length).split(":");
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return `${hostPrefix}${pid}:${instance}` !== processOwner;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
