import { type MatchExtended, type Matcher, MatcherBaseClass, type MatchOptions } from '@zxcvbn-ts/core';
import { adjacencyGraphs } from '@zxcvbn-ts/language-common';

/**
 * Patterns zxcvbn's own matchers miss, added to the estimator as matchers so
 * their guesses enter its sequence like any other match: keyboard columns
 * walked side by side (5tgb6yhn7ujm), two sequences interleaved (1a2b3c4d,
 * aAbBcCdD), and a repeat of an earlier part with something in between
 * (Passw0rd!Passw0rd). Each is a scan of the (at most 64 UTF-16 units of the)
 * estimated window, far cheaper than the dictionary matcher.
 */

type Graph = Record<string, (string | null)[]>;
// Keyboards only: on a keypad almost any digit string is a run of neighbours.
const GRAPHS = Object.entries(adjacencyGraphs as Record<string, Graph>).filter(([name]) => !name.startsWith('keypad'));

const adjacent = (graph: Graph, a: string, b: string) => graph[a]?.some((n) => n?.includes(b)) ?? false;

// zxcvbn's sequence matcher takes steps of up to 5 (aceg, 13579).
const MAX_DELTA = 5;
// Shorter runs and copies are as common in random strings as in patterns.
const MIN_COLUMN = 3;
const MIN_INTERLEAVED = 6;
const MIN_COPY = 4;

/** Runs of keys each next to the one before (a column, or a short walk), each starting beside where the one before started. */
class ColumnMatching extends MatcherBaseClass {
  match({ password }: MatchOptions): MatchExtended[] {
    const matches: MatchExtended[] = [];
    for (const [name, graph] of GRAPHS) {
      const runs: { i: number; j: number }[] = [];
      for (let i = 0; i < password.length; ) {
        let j = i;
        while (j + 1 < password.length && adjacent(graph, password[j]!, password[j + 1]!)) j++;
        runs.push({ i, j });
        i = j + 1;
      }
      const long = (r: { i: number; j: number }) => r.j - r.i + 1 >= MIN_COLUMN;
      for (let a = 0; a < runs.length; ) {
        let b = a;
        while (long(runs[b]!) && b + 1 < runs.length && long(runs[b + 1]!) && adjacent(graph, password[runs[b]!.i]!, password[runs[b + 1]!.i]!)) b++;
        if (b > a) {
          const { i } = runs[a]!;
          const { j } = runs[b]!;
          matches.push({ pattern: 'columns', i, j, token: password.slice(i, j + 1), graph: name, keys: Object.keys(graph).length });
        }
        a = b + 1;
      }
    }
    return matches;
  }
}

// A start key, up or down the columns, left or right across them, and the length.
const columnGuesses = (m: MatchExtended) => Number(m.keys) * 4 * m.token.length;

const step = (s: string, k: number) => s.charCodeAt(k + 2) - s.charCodeAt(k);

/** The characters at even and at odd places each form a run with a constant step (not both repeats). */
class InterleavedMatching extends MatcherBaseClass {
  match({ password }: MatchOptions): MatchExtended[] {
    const matches: MatchExtended[] = [];
    for (let i = 0; i + MIN_INTERLEAVED <= password.length; i++) {
      const even = step(password, i);
      const odd = step(password, i + 1);
      if (Math.abs(even) > MAX_DELTA || Math.abs(odd) > MAX_DELTA || (even === 0 && odd === 0)) continue;
      // Grow [i, j] while each next character is one step of its own run past the one two before.
      let j = i + 1;
      while (j + 1 < password.length && step(password, j - 1) === ((j + 1 - i) % 2 === 0 ? even : odd)) j++;
      if (j - i + 1 >= MIN_INTERLEAVED) matches.push({ pattern: 'interleaved', i, j, token: password.slice(i, j + 1), even, odd });
    }
    return matches;
  }
}

// zxcvbn's sequence scoring for each of the two runs: an obvious start (a, 1)
// or a digit is cheaper than any letter, a descending run costs twice.
function runGuesses(first: string, length: number, delta: number): number {
  const base = /[aAzZ019]/.test(first) ? 4 : /\d/.test(first) ? 10 : 26;
  return base * length * (delta < 0 ? 2 : 1);
}

const interleavedGuesses = (m: MatchExtended) => {
  const n = m.token.length;
  return runGuesses(m.token[0]!, Math.ceil(n / 2), Number(m.even)) * runGuesses(m.token[1]!, Math.floor(n / 2), Number(m.odd));
};

/** The longest copy, without regard to case, of an earlier part of the password that ends before it, alone and with what lies between. */
class CopyMatching extends MatcherBaseClass {
  match({ password }: MatchOptions): MatchExtended[] {
    const lower = password.toLowerCase();
    const matches: MatchExtended[] = [];
    for (let j = MIN_COPY; j + MIN_COPY <= lower.length; j++) {
      let best = { length: 0, from: 0 };
      for (let from = 0; from + MIN_COPY <= j; from++) {
        let length = 0;
        while (from + length < j && j + length < lower.length && lower[from + length] === lower[j + length]) length++;
        if (length > best.length) best = { length, from };
      }
      if (best.length < MIN_COPY) continue;
      const end = j + best.length - 1;
      const source = { i: best.from, j: best.from + best.length - 1 };
      matches.push({ pattern: 'copy', i: j, j: end, token: password.slice(j, end + 1), source, gap: 0 });
      // With what lies between taken as random: zxcvbn's sequence charges
      // 10^4 per further match, more than the guesses of a short gap.
      const gap = j - source.j - 1;
      if (gap > 0) matches.push({ pattern: 'copy', i: source.j + 1, j: end, token: password.slice(source.j + 1, end + 1), source, gap });
    }
    return matches;
  }
}

// Which earlier place the copy starts at and its length, times zxcvbn's
// brute-force guesses (10 a character) for the gap.
const copyGuesses = (m: MatchExtended) => (Number(m.source.i) + 1) * (m.token.length - Number(m.gap)) * 10 ** Number(m.gap);

const matcher = (Matching: Matcher['Matching'], scoring: (m: MatchExtended) => number): Matcher => ({
  Matching,
  scoring: (m) => scoring(m as MatchExtended),
  feedback: () => null,
});

export const PATTERN_MATCHERS: Record<string, Matcher> = {
  columns: matcher(ColumnMatching, columnGuesses),
  interleaved: matcher(InterleavedMatching, interleavedGuesses),
  copy: matcher(CopyMatching, copyGuesses),
};

// What the estimator sees besides the password as typed: without the
// separators people put between words or characters (p-a-s-s-w-o-r-d,
// 2024-01-01), so the words and runs behind them are found; zxcvbn takes each
// separator for a random character. Case is left: its dictionary matcher
// already ignores it and charges only for the variation.
const SEPARATORS = /[\s.\-_/,]+/gu;

export const withoutSeparators = (password: string) => password.replace(SEPARATORS, '');
