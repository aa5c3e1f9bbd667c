/** How many keyword terms one query is searched by, at most. */
export const maxKeywordTerms = 8;

/**
 * The words of a query that look like keywords: what embeddings are weakest
 * at and exact search is best at. A word (surrounding punctuation trimmed) is
 * one when it holds a digit (`4521`, `v2`, `E1234`), joins parts with `_ . \ : # @`
 * (`ERR_CONN_RESET`, `config.yaml`, `src/app.ts`), joins them with `-` or `/` and holds a
 * capital (`X-Request-Id`; `follow-up` and `and/or` are words), has a capital after its first
 * letter (`useChat`, `API`; not in text mostly in capitals), or is capitalised inside a sentence
 * (names: `Priya`, `Kubernetes`; capitalised words in a row are one name,
 * `Labor Day`, searched as a phrase). Plain words give nothing, so a question
 * asked in other words is left to the vector search alone. Each term once,
 * case kept, in query order, at most {@link maxKeywordTerms}.
 *
 * @example
 * keywordTerms("why did ERR_CONN_RESET show up in config.yaml for Priya?");
 * // ["ERR_CONN_RESET", "config.yaml", "Priya"]
 */
export function keywordTerms(query: string): string[] {
  const terms: string[] = [];
  const seen = new Set<string>();
  const add = (term: string) => {
    const folded = term.toLowerCase();
    if (seen.has(folded) || terms.length === maxKeywordTerms) return;
    seen.add(folded);
    terms.push(term);
  };
  // Text mostly in capitals (shouting) makes capitals tell nothing; one code in capitals is not shouting.
  // Only words of scripts with case count (Chinese or Hebrew words are neither upper nor lower case).
  const cased = (query.match(/\p{L}{2,}/gu) ?? []).filter(
    (word) => word !== word.toLowerCase() || word !== word.toUpperCase(),
  );
  const capitals = cased.filter((word) => word === word.toUpperCase()).length;
  const shouting = capitals >= 2 && capitals > cased.length / 2;
  // Capitalised words in a row are one name (`Labor Day`, `New York`), searched as a phrase.
  let name: string[] = [];
  const endName = () => {
    if (name.length > 0) add(name.join(" "));
    name = [];
  };
  let sentenceStart = true;
  for (const raw of query.split(/(?=\n)|[^\S\n]+|[\u2013\u2014]+/u)) {
    // A line's start is a sentence's start.
    if (raw.startsWith("\n")) {
      endName();
      sentenceStart = true;
    }
    const word = raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "").replace(/['’]s$/u, "");
    // Bullets, dashes, quotes and list numbers (`1)`, `a)`, `10.`) change nothing.
    if (!/[\p{L}\p{N}]/u.test(word) || (sentenceStart && /^\n?\s*(\p{N}{1,2}|\p{L})[.)]$/u.test(raw))) continue;
    const startsSentence = sentenceStart;
    // The next word starts a sentence after . ! ? (or a line's start).
    sentenceStart = /[.!?]["')\]]*$/u.test(raw);
    if ([...word].length < 2) {
      endName();
      continue;
    }
    if (isCode(word, shouting, startsSentence)) {
      endName();
      add(word);
    } else if (/^\p{Lu}\p{Ll}/u.test(word) && !startsSentence && !shouting) {
      // A sentence's first word is capitalised anyway (`What`, `Where`): never part of a name.
      name.push(word);
      // Punctuation after a word ends the name it belongs to.
      if (!raw.trimEnd().endsWith(word) && !/['’]s$/u.test(raw)) endName();
    } else {
      endName();
    }
  }
  endName();
  return terms;
}

/** A word that is a code, a file name or an identifier rather than a word of the language. */
function isCode(word: string, shouting: boolean, startsSentence: boolean): boolean {
  // A bare number is a code from three digits on (`4521`); `30` and `10` are too common to search.
  if (/^\p{N}+$/u.test(word)) return word.length >= 3;
  if (/\p{N}/u.test(word)) return true;
  // A capital tells something except at a sentence's start or in shouted text.
  const capital = !shouting && (startsSentence ? /.\p{Lu}/u : /\p{Lu}/u).test(word);
  const parts = word.split(/[_./\\:#@-]/u);
  if (parts.length > 1) {
    // `e.g` and `i.e` are not file names; `follow-up` and `and/or` are words.
    if (parts.every((part) => [...part].length <= 1)) return false;
    if (/[_.\\:#@]/u.test(word)) return true;
    return capital;
  }
  return !shouting && /.\p{Lu}/u.test(word);
}

/** The word tokens of a term, as a full-text tokenizer splits it (`ERR_CONN_RESET` → `ERR CONN RESET`). */
export function termTokens(term: string): string[] {
  return term.split(/[^\p{L}\p{N}]+/u).filter((token) => token.length > 0);
}
