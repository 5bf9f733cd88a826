import { type MatchExtended, ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as englishDictionary } from '@zxcvbn-ts/language-en';
import { PATTERN_MATCHERS, withoutSeparators } from './password-patterns.js';

/**
 * The guessability rules of NIST SP 800-63B-4 §3.1.1.2 past the length rule:
 * common passwords and dictionary words (padded with digits or not),
 * repetitive and sequential strings, keyboard walks, dates, and context words.
 * The zxcvbn estimator finds the patterns and counts the guesses. A password is
 * refused when it needs fewer than 10^10 guesses AND named patterns cover at
 * least half of it, so a short random string (with a minimum set below 15) is
 * left to the length rule and every refusal names the rule that failed; and
 * when what is left without the username and the service name needs fewer.
 * Both are judged twice, as typed and without separators (see
 * withoutSeparators), and the weaker of the two decides.
 */

export type Weakness = 'username' | 'service' | 'dictionary' | 'keyboard' | 'sequential' | 'repetitive' | 'date';

/** Context words of the service itself, refused like the username. */
export const SERVICE_NAME = 'meridian';

interface Context {
  username: string[];
  service: string[];
}

// zxcvbn's score 4 ("very unguessable"): beyond what an online attacker gets
// through the throttle, and costly offline against argon2id.
const MIN_GUESSES_LOG10 = 10;

// zxcvbn's dictionary matcher tries every substring up to the longest word
// (23 characters) in each dictionary, once per l33t variant, and its scoring
// grows faster than the length: with its defaults a 1024-character password
// costs seconds (docs/benchmarks.md). Only the first 32 characters are
// estimated, which hold the whole of the minimum length and of any dictionary
// word. An attacker must guess them before the rest, so a password whose first
// 32 characters are strong is strong; a longer one whose first 32 characters
// are a pattern is refused as that pattern. A check then costs the same few
// milliseconds at any length: it runs for every registration, before the
// registration throttle.
const WINDOW = 32;

// Each l33t variant reruns the dictionary matcher (the default allows 100);
// four keep the plain substitutions (p4ssw0rd) at a few times the base cost.
const L33T_VARIANTS = 4;

const estimator = new ZxcvbnFactory(
  {
    dictionary: { ...commonDictionary, ...englishDictionary },
    graphs: adjacencyGraphs,
    l33tMaxSubstitutions: L33T_VARIANTS,
    maxLength: 2 * WINDOW, // UTF-16 units; the window is cut in code points first
  },
  PATTERN_MATCHERS,
);

// No dictionaries: tells whether a token a dictionary matched (many common
// passwords are keyboard walks or digit runs) is itself a pattern.
const patterns = new ZxcvbnFactory({ graphs: adjacencyGraphs, l33tMaxSubstitutions: 0 }, PATTERN_MATCHERS);

const FIRST: readonly Weakness[] = ['username', 'service', 'dictionary'];
const rank = (w: Weakness) => (FIRST.includes(w) ? FIRST.indexOf(w) : FIRST.length);

/** Which rule the password breaks, if any; `password` is NFKC-normalized. */
export function findWeakness(password: string, username?: string): Weakness | undefined {
  const cut = (s: string) => [...s].slice(0, WINDOW).join('');
  const window = cut(password);
  const context = contextWords(username);
  const judge = (w: string) => contextWeakness(w, context) ?? patternWeakness(w, context);
  // The second estimate doubles the cost, so only when it sees something else;
  // cut after the separators go, so it holds as much of the password.
  const bare = cut(withoutSeparators(password));
  return judge(window) ?? (bare !== window && bare.length > 0 ? judge(bare) : undefined);
}

/** The username and its parts, and the service name: what is left without them must be strong on its own. */
function contextWords(username?: string): Context {
  const name = username?.toLowerCase() ?? '';
  const parts = name.split(/[._-]+/).filter((p) => p.length >= 3);
  return { username: [...new Set([name, ...parts])].filter((w) => w.length >= 3), service: [SERVICE_NAME] };
}

function contextWeakness(window: string, context: Context): Weakness | undefined {
  const lower = window.toLowerCase();
  const present = (words: string[]) => words.filter((w) => lower.includes(w));
  const fromUsername = present(context.username);
  const found = [...fromUsername, ...present(context.service)].sort((a, b) => b.length - a.length);
  if (found.length === 0) return undefined;
  const rest = found.reduce((s, w) => s.split(w).join(''), lower);
  if (rest.length > 0 && !isGuessable(estimator.check(rest, [...context.username, ...context.service]).guessesLog10)) return undefined;
  return fromUsername.length > 0 ? 'username' : 'service';
}

function patternWeakness(window: string, context: Context): Weakness | undefined {
  const result = estimator.check(window, [...context.username, ...context.service]);
  if (!isGuessable(result.guessesLog10)) return undefined;
  // The part a copy repeats is named with the copy (Passw0rd!Passw0rd is repetitive).
  const copied = new Set(result.sequence.flatMap((m) => (m.pattern === 'copy' ? [`${m.source.i}:${m.source.j}`] : [])));
  const named = result.sequence.flatMap((m) => {
    const weakness = copied.has(`${m.i}:${m.j}`) && m.pattern === 'dictionary' && m.dictionaryName !== 'userInputs' ? 'repetitive' : nameMatch(m, context);
    return weakness ? [{ weakness, span: m.j - m.i + 1 }] : [];
  });
  if (2 * named.reduce((n, m) => n + m.span, 0) < window.length) return undefined;
  // Context and dictionary words first ("sunshine" padded with "12345678" is a
  // dictionary word), then the pattern that covers most of the password.
  named.sort((a, b) => rank(a.weakness) - rank(b.weakness) || b.span - a.span);
  return named[0]?.weakness;
}

function isGuessable(guessesLog10: number): boolean {
  return guessesLog10 < MIN_GUESSES_LOG10;
}

function nameMatch(m: MatchExtended, context: Context): Weakness | undefined {
  switch (m.pattern) {
    case 'dictionary':
      if (m.dictionaryName === 'userInputs') return context.service.includes(String(m.matchedWord)) ? 'service' : 'username';
      return tokenPattern(m.token) ?? 'dictionary';
    case 'repeat':
      return (m.baseMatches as MatchExtended[] | undefined)?.map((b) => nameMatch(b, context)).find((w) => w === 'username' || w === 'service') ?? 'repetitive';
    case 'spatial':
    case 'columns':
      return 'keyboard';
    case 'sequence':
    case 'wordSequence':
    case 'interleaved':
      return 'sequential';
    case 'copy':
      return 'repetitive';
    case 'date':
    case 'regex':
      return 'date';
    default:
      return undefined;
  }
}

const TOKEN_PATTERNS: Partial<Record<string, Weakness>> = {
  spatial: 'keyboard',
  columns: 'keyboard',
  sequence: 'sequential',
  interleaved: 'sequential',
  repeat: 'repetitive',
  date: 'date',
};

/** A dictionary token that is wholly a keyboard walk, a run, a repeat or a date is named as that. */
function tokenPattern(token: string): Weakness | undefined {
  const found = new Set(patterns.check(token).sequence.map((m) => TOKEN_PATTERNS[m.pattern]));
  return found.size === 1 ? [...found][0] : undefined;
}
