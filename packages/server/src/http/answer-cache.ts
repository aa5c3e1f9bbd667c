/**
 * Answers of the sessions API kept in memory per resource, each under the
 * request it answers, all made at one version of the resource's data (see
 * `SessionsVersion`, docs/storage.md). `get` gives an answer back only at the
 * version it was made at; a request that finds the resource's answers made at
 * another version drops them all (a deleted session's messages do not stay
 * behind). Bounded by bytes, a resource's answers by an eighth of them (no
 * user can push everyone else's out); the least recently used go first.
 *
 * @example
 * const cache = createAnswerCache(32 * 1024 * 1024);
 * cache.set("user-1", '["session","0190…"]', version, bytes); // version: from `SessionsVersion`
 * cache.get("user-1", '["session","0190…"]', version); // bytes; at any other version: undefined
 */
export interface AnswerCache {
  get(resourceId: string, request: string, version: string): Uint8Array<ArrayBuffer> | undefined;
  set(resourceId: string, request: string, version: string, body: Uint8Array<ArrayBuffer>): void;
  /** Bytes held: the answers, their keys, and a fixed amount per answer and per resource. */
  readonly bytes: number;
}

/** What an answer costs beyond its bytes and its key's characters: the map's bookkeeping, roughly. */
const answerOverhead = 64;
/** What a resource's group costs beyond its answers and its id's characters, roughly. */
const resourceOverhead = 128;

interface ResourceAnswers {
  version: string;
  /** The least recently used first. */
  answers: Map<string, Uint8Array<ArrayBuffer>>;
  /** The answers' bytes (not the group's own). */
  bytes: number;
}

export function createAnswerCache(maxBytes: number): AnswerCache {
  /** The least recently used resource first. */
  const resources = new Map<string, ResourceAnswers>();
  const resourceMaxBytes = Math.floor(maxBytes / 8);
  let bytes = 0;
  const sizeOf = (request: string, body: Uint8Array) => body.byteLength + 2 * request.length + answerOverhead;
  const groupSize = (resourceId: string) => resourceOverhead + 2 * resourceId.length;
  const dropResource = (resourceId: string, held: ResourceAnswers) => {
    resources.delete(resourceId);
    bytes -= held.bytes + groupSize(resourceId);
  };
  const dropAnswer = (resourceId: string, held: ResourceAnswers, request: string) => {
    const body = held.answers.get(request);
    if (!body) return;
    const size = sizeOf(request, body);
    held.answers.delete(request);
    held.bytes -= size;
    bytes -= size;
    if (held.answers.size === 0) dropResource(resourceId, held);
  };
  const oldest = <K, V>(map: Map<K, V>) => map.entries().next().value;

  return {
    get(resourceId, request, version) {
      const held = resources.get(resourceId);
      if (!held) return undefined;
      if (held.version !== version) {
        dropResource(resourceId, held);
        return undefined;
      }
      const body = held.answers.get(request);
      if (!body) return undefined;
      resources.delete(resourceId);
      resources.set(resourceId, held);
      held.answers.delete(request);
      held.answers.set(request, body);
      return body;
    },

    set(resourceId, request, version, body) {
      const existing = resources.get(resourceId);
      // Kept since this request's `get` by one that read another version, older or newer: left as it is.
      if (existing && existing.version !== version) return;
      if (existing) dropAnswer(resourceId, existing, request);
      const size = sizeOf(request, body);
      if (size > resourceMaxBytes) return;
      let held = resources.get(resourceId); // gone if that was its only answer
      if (held) resources.delete(resourceId);
      else {
        held = { version, answers: new Map(), bytes: 0 };
        bytes += groupSize(resourceId);
      }
      resources.set(resourceId, held);
      held.answers.set(request, body);
      held.bytes += size;
      bytes += size;
      // The answer just kept is its resource's newest and the resource the newest: neither loop reaches it.
      for (let first = oldest(held.answers); held.bytes > resourceMaxBytes && first; first = oldest(held.answers)) {
        dropAnswer(resourceId, held, first[0]);
      }
      for (let first = oldest(resources); bytes > maxBytes && first; first = oldest(resources)) {
        const [oldestResource, oldestHeld] = first;
        const answer = oldest(oldestHeld.answers);
        if (answer) dropAnswer(oldestResource, oldestHeld, answer[0]);
        else dropResource(oldestResource, oldestHeld);
      }
    },

    get bytes() {
      return bytes;
    },
  };
}
