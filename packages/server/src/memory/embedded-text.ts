/**
 * How much of a message is embedded. A message is stored whole whatever its
 * size, but embedding cost grows with its length (and the offline embedder's
 * tokenizer is quadratic in a text's length), so only the start of a long
 * message gets vectors: up to `maxChunks` chunks of up to `chunkLength`
 * characters, each with its own vector. A new message's recall query is its
 * first `queryLength` characters. See docs/memory.md.
 */
export const embeddingLimits = { chunkLength: 1_000, maxChunks: 8, queryLength: 1_000 } as const;

/** The chunks of a message's text that get vectors: its first {@link embeddingLimits}.maxChunks. */
export function chunksToEmbed(text: string): string[] {
  const chunks: string[] = [];
  let position = 0;
  while (chunks.length < embeddingLimits.maxChunks) {
    const [chunk, next] = nextChunk(text, position, embeddingLimits.chunkLength);
    if (!chunk) break;
    chunks.push(chunk);
    position = next;
  }
  return chunks;
}

/** What a new message is searched by: the first {@link embeddingLimits}.queryLength characters of its text. */
export function queryOf(text: string): string {
  return nextChunk(text, 0, embeddingLimits.queryLength)[0];
}

/**
 * The chunk starting at `start` (leading whitespace skipped), cut at the last
 * whitespace before `length` characters, or at `length` itself for a longer
 * word (never inside a surrogate pair); and where the next one starts.
 */
function nextChunk(text: string, start: number, length: number): [string, number] {
  let from = start;
  while (from < text.length && /\s/.test(text.charAt(from))) from++;
  if (from >= text.length) return ["", text.length];
  let end = Math.min(from + length, text.length);
  if (end < text.length) {
    const window = text.slice(from, end + 1);
    const lastSpace = Math.max(window.lastIndexOf(" "), window.lastIndexOf("\n"), window.lastIndexOf("\t"));
    if (lastSpace > 0) end = from + lastSpace;
    else if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  }
  return [text.slice(from, end).trimEnd(), end];
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
