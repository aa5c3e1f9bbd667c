import { z } from "zod";

// What text the server keeps in its own columns (titles, memories, names, ids).
// Message text is stored as JSON and kept byte for byte; these columns are
// plain text, where NUL cannot live (PostgreSQL refuses it, libSQL cuts the
// value there) and a lone surrogate cannot be written (UTF-8 has no form for it).

/** C0 control characters and DEL: NUL included. */
const controlCharacters = /[\u0000-\u001f\u007f]/;
/** The same, but tabs and line breaks are text. */
const controlsButWhitespace = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** True for text that names something: no control characters, no lone surrogates. */
export function isCleanIdentifier(value: string): boolean {
  return !controlCharacters.test(value) && value.isWellFormed();
}

/** True for prose a column can hold as it is: tabs and line breaks allowed, no other controls, no lone surrogates. */
export function isCleanText(value: string): boolean {
  return !controlsButWhitespace.test(value) && value.isWellFormed();
}

/** An id a client chooses (a message id, a chat id): 1 to 200 characters, no control characters. */
export const clientIdSchema = z
  .string()
  .min(1, "must not be empty")
  .max(200)
  .refine(isCleanIdentifier, "must not contain control characters or lone surrogates");

/** Prose kept in a column (a title, a memory): tabs and line breaks are fine, other control characters are not. */
export const cleanTextSchema = z.string().refine(isCleanText, "must not contain control characters or lone surrogates");

/**
 * At most `length` characters of `text` for a column, never cutting a
 * surrogate pair in half; control characters become spaces, runs of
 * whitespace one space, and the ends are trimmed (a title, an excerpt).
 */
export function columnText(text: string, length: number): string {
  const flat = text
    .replace(/[\u0000-\u001f\u007f]/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .toWellFormed();
  if (flat.length <= length) return flat;
  const end = isHighSurrogate(flat.charCodeAt(length - 1)) ? length - 1 : length;
  return flat.slice(0, end).trimEnd();
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
