import { EXPANDING, SIMPLE_RUNS } from './case-folding-data.js';

/**
 * Full Unicode case folding (CaseFolding.txt statuses C and F), which
 * JavaScript lacks: toLowerCase is not folding (final sigma stays ς, ß stays
 * ß, Cherokee folds to upper case). The table is generated from the Unicode
 * data by scripts/generate-case-folding.mjs.
 */

const hex = (s: string): number => parseInt(s, 16);

function buildTable(): Map<number, string> {
  const table = new Map<number, string>();
  for (const run of SIMPLE_RUNS.flatMap((line) => line.split(' '))) {
    const [start, count, step, delta] = run.split(':').map(hex) as [number, number, number, number];
    for (let i = 0; i < count; i++) table.set(start + i * step, String.fromCodePoint(start + i * step + delta));
  }
  for (const entry of EXPANDING.flatMap((line) => line.split(' '))) {
    const [from, ...to] = entry.split(':').map(hex) as [number, ...number[]];
    table.set(from, String.fromCodePoint(...to));
  }
  return table;
}

const FOLDS = buildTable();

export function foldCase(text: string): string {
  let out = '';
  for (const ch of text) out += FOLDS.get(ch.codePointAt(0)!) ?? ch;
  return out;
}
