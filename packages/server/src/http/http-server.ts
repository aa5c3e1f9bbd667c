import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { serve } from "@hono/node-server";
import { errorCodes, RequestTimeoutError } from "@session-bridge/shared";
import type { HttpApp } from "./http-env.ts";

export interface HttpServer {
  /** `http://host:port`, with the port actually bound (useful with `PORT=0`). */
  url: string;
  /** Stops accepting connections and waits for open requests to end. */
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (port 0: any free port). `requestTimeoutMs` bounds how
 * long a client may take to send its request (headers and body).
 */
export function startHttpServer(
  http: HttpApp,
  options: { host: string; port: number; requestTimeoutMs?: number },
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const timeout = options.requestTimeoutMs;
    const serverOptions = timeout
      ? {
          requestTimeout: timeout,
          headersTimeout: timeout,
          connectionsCheckingInterval: Math.max(100, Math.min(timeout / 4, 30_000)),
        }
      : {};
    const server = serve({ fetch: http.fetch, hostname: options.host, port: options.port, serverOptions }, (info) => {
      const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          }),
      });
    });
    // Node answers malformed and too-slow requests itself, in plain text; answer in the contract's shape.
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
      const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
      if (!socket.writable || answering) return socket.destroy();
      const slow = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
      // A client too slow to send its request gets 408, not request_timeout's 503: the server never had the request.
      const status = slow ? 408 : errorCodes.invalid_request.status;
      const body = JSON.stringify(
        slow
          ? new RequestTimeoutError(timeout ?? 0).toJSON()
          : { error: { code: "invalid_request", message: "The request is not valid HTTP" } },
      );
      // A HEAD request gets the head alone (its client would read a body as the next response).
      const head = (error as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString("latin1") === "HEAD ";
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? "" : body}`,
      );
    });
    server.once("error", reject);
  });
}
