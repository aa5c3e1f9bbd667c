import assert from "node:assert/strict";
import { test } from "node:test";
import { keywordTerms, maxKeywordTerms, termTokens } from "./keyword-terms.ts";

test("codes, file names, identifiers and names inside a sentence are keyword terms", () => {
  assert.deepEqual(keywordTerms("why did ERR_CONN_RESET show up in config.yaml for Priya?"), [
    "ERR_CONN_RESET",
    "config.yaml",
    "Priya",
  ]);
  assert.deepEqual(keywordTerms("what happened to ticket JIRA-4521 and 4522, and the useChat hook in src/app.ts"), [
    "JIRA-4521",
    "4522",
    "useChat",
    "src/app.ts",
  ]);
});

test("plain words and capitalised sentence starts are not keyword terms", () => {
  assert.deepEqual(keywordTerms("What did we decide about the holiday trip? Where do we go next"), []);
  assert.deepEqual(keywordTerms("I think so. Maybe"), []);
  assert.deepEqual(keywordTerms(""), []);
});

test("a name after a sentence's end is a sentence start; inside the sentence it is a name", () => {
  assert.deepEqual(keywordTerms("Ask again. Priya said so"), []);
  assert.deepEqual(keywordTerms("ask Priya again"), ["Priya"]);
});

test("capitalised words in a row are one name, searched as a phrase; a sentence's first word is not part of it", () => {
  assert.deepEqual(keywordTerms("Where are we staying over the Labor Day break?"), ["Labor Day"]);
  assert.deepEqual(keywordTerms("What did Priya Raman say about New York, and Lisbon?"), [
    "Priya Raman",
    "New York",
    "Lisbon",
  ]);
});

test("shouting, common hyphenated words, abbreviations, bullets and new lines give no terms", () => {
  assert.deepEqual(keywordTerms("WHY DOES IT FAIL WHEN I DEPLOY"), []);
  assert.deepEqual(keywordTerms("a follow-up on the long-term sign-in plan, e.g. next week"), []);
  assert.deepEqual(keywordTerms("- What did we say\n- Thanks for that"), []);
  assert.deepEqual(keywordTerms("WHAT ABOUT 4521"), ["4521"]);
  assert.deepEqual(keywordTerms("the X-Request-Id header"), ["X-Request-Id"]);
});

test("one code in capitals is not shouting; list markers, sentence-start capitals and short numbers give no terms", () => {
  assert.deepEqual(keywordTerms("When did ECONNREFUSED show up?"), ["ECONNREFUSED"]);
  assert.deepEqual(keywordTerms("what about ECONNREFUSED on ENOENT"), ["ECONNREFUSED", "ENOENT"]);
  assert.deepEqual(keywordTerms("1) What did we say\na) Thanks\n10. Where next"), []);
  assert.deepEqual(keywordTerms("Follow-up: and/or plans"), []);
  assert.deepEqual(keywordTerms("it took 30 minutes, not 10"), []);
  assert.deepEqual(keywordTerms("ask Priya\u2014she knows"), ["Priya"]);
});

test("scripts without case are never shouting; a number at a line's start is kept from three digits on", () => {
  assert.deepEqual(keywordTerms("我们上次讨论的 useChat 问题是什么"), ["useChat"]);
  assert.deepEqual(keywordTerms("מה אמרה Priya על useChat"), ["Priya", "useChat"]);
  assert.deepEqual(keywordTerms("Error E1234 since\n2024. what"), ["E1234", "2024"]);
});

test("a name's possessive is the name", () => {
  assert.deepEqual(keywordTerms("what is in Leena's plan"), ["Leena"]);
  assert.deepEqual(keywordTerms("ask Leena’s manager Tom"), ["Leena", "Tom"]);
});

test("each term once (ignoring case), at most the limit, punctuation around words trimmed", () => {
  assert.deepEqual(keywordTerms('"E42", e42 and (E42) again'), ["E42"]);
  const many = Array.from({ length: 20 }, (_, index) => `code${index}`).join(" ");
  assert.equal(keywordTerms(many).length, maxKeywordTerms);
});

test("a term's tokens are split where a full-text tokenizer splits it", () => {
  assert.deepEqual(termTokens("ERR_CONN_RESET"), ["ERR", "CONN", "RESET"]);
  assert.deepEqual(termTokens("config.yaml"), ["config", "yaml"]);
  assert.deepEqual(termTokens("Priya"), ["Priya"]);
});
