// The entry of an embedder worker thread: it runs the TypeScript sources through tsx's
// loader, as the main thread does (see bin/session-bridge.js), whatever loader started the process.
import { register } from "tsx/esm/api";

register();
await import("./embedder-thread-main.ts");
