import { AppError } from '../errors.js';
import { foldCase } from './case-fold.js';

/**
 * The username rules of API.md. A username is compared by its key: width and
 * compatibility forms mapped (NFKC), then fully case-folded, then NFKC again
 * because folding can leave a string unnormalized, so `ａｌｉｃｅ`, `ALICE`,
 * `straße` / `STRASSE` and `ΣΑΣ` / `σας` are each one name (RFC 8265's
 * UsernameCaseMapped, with full folding in place of lower-casing).
 */

const USERNAME = /^[\p{L}\p{N}._-]{3,64}$/u;

// Code points that show nothing. Default_Ignorable_Code_Point takes in the
// Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), which are letters (Lo)
// and so pass \p{L}; U+2800 BRAILLE PATTERN BLANK is a symbol, listed here so
// that it gets this refusal rather than the format one.
const BLANK = /[\p{Default_Ignorable_Code_Point}\p{White_Space}\u2800]/u;

export function normalizeUsername(username: string): string {
  return foldCase(username.normalize('NFKC')).normalize('NFKC');
}

export function checkUsername(username: string): void {
  const key = normalizeUsername(username);
  const blank = BLANK.exec(username) ?? BLANK.exec(key);
  if (blank) {
    const cp = blank[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new AppError('invalid_request', {
      description: `username must not contain characters that render blank or invisible (U+${cp})`,
      reason: 'blank code point in username',
    });
  }
  if (!USERNAME.test(username) || !USERNAME.test(key)) {
    throw new AppError('invalid_request', {
      description: 'username must be 3 to 64 characters of letters, digits, ".", "_" or "-"',
      reason: 'bad username format',
    });
  }
}
