const dayMs = 86_400_000;
/** The first instant `toISOString` writes with a six-digit year. */
const year10000 = 253_402_300_800_000;
const twoDigits = Array.from({ length: 100 }, (_, value) => String(value).padStart(2, "0"));
const threeDigits = Array.from({ length: 1000 }, (_, value) => String(value).padStart(3, "0"));
/** "YYYY-MM-DDT" of recent days, by day number. */
const dayPrefixes = new Map<number, string>();
const maxDayPrefixes = 4096;

/**
 * `date.toISOString()`, three to four times faster: V8 formats each date
 * through `snprintf`, and a page of 50 sessions writes 100 of them (~30 µs
 * of a list request). The date part is kept per day; the time of day is
 * written from lookup tables. Years before 1970 or from 10000 on, and
 * invalid dates, go to `toISOString` itself (which throws on the last).
 *
 * @example
 * isoTime(new Date(0)); // "1970-01-01T00:00:00.000Z"
 */
export function isoTime(date: Date): string {
  const ms = date.getTime();
  if (!(ms >= 0 && ms < year10000)) return date.toISOString();
  const day = Math.floor(ms / dayMs);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= maxDayPrefixes) dayPrefixes.clear();
    prefix = new Date(day * dayMs).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * dayMs;
  const milliseconds = rest % 1000;
  rest = (rest - milliseconds) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${prefix}${twoDigits[hours]}:${twoDigits[minutes]}:${twoDigits[seconds]}.${threeDigits[milliseconds]}Z`;
}
