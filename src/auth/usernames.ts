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

const hex = (ch: string): string => ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');

export function normalizeUsername(username: string): string {
  return foldCase(username.normalize('NFKC')).normalize('NFKC');
}

/** The format and blank checks, which every name presented on login meets too. */
export function checkUsername(username: string): void {
  const key = normalizeUsername(username);
  const blank = BLANK.exec(username) ?? BLANK.exec(key);
  if (blank) {
    throw new AppError('invalid_request', {
      description: `username must not contain characters that render blank or invisible (U+${hex(blank[0])})`,
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

/**
 * The letters a person reads can come from scripts the eye does not tell
 * apart: Latin `alice`, `аlice` with Cyrillic а and `Αlice` with Greek Alpha
 * have three different keys. New names are held to UTS #39's "Highly
 * Restrictive" level: every letter and digit that belongs to a script shares
 * one, or the name is covered by Latin with one of the CJK writing systems
 * (Han + Hiragana + Katakana, Han + Bopomofo, Han + Hangul). Membership is
 * Script_Extensions, so `ー` (Hiragana and Katakana) and `ـ` count in every
 * script they serve; Common and Inherited (ASCII digits, `.`, `_`, `-`,
 * combining marks) go with anything. A digit of a script counts as a letter
 * of it, so Arabic-Indic digits cannot join Latin letters.
 *
 * Whole-script confusables remain: an all-Cyrillic `асе` is one script and
 * is a different name from Latin `ace`. Closing that needs a skeleton of each
 * name (UTS #39 confusables.txt) compared on registration.
 */

// Every script of Unicode 17 but Common, Inherited and Unknown: a name the
// regular expressions do not know throws here, and a test compares the list
// with the Unicode data, since a letter of a missing script would pass with
// any other.
export const USERNAME_SCRIPTS: readonly string[] = `Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali Beria_Erfe
Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham
Cherokee Chorasmian Coptic Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret Devanagari Dives_Akuru Dogra
Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Garay Georgian Glagolitic Gothic Grantha Greek
Gujarati Gunjala_Gondi Gurmukhi Gurung_Khema Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana
Imperial_Aramaic Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kawi Kayah_Li
Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Kirat_Rai Lao Latin Lepcha Limbu Linear_A Linear_B Lisu
Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek
Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean
Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Ol_Onal
Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic
Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang
Runic Samaritan Saurashtra Sharada Shavian Siddham Sidetic SignWriting Sinhala Sogdian Sora_Sompeng Soyombo
Sundanese Sunuwar Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Tai_Yo Takri Tamil Tangsa
Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta Todhri Tolong_Siki Toto Tulu_Tigalari Ugaritic Vai
Vithkuqi Wancho Warang_Citi Yezidi Yi Zanabazar_Square`.split(/\s+/);
const SCRIPTS = USERNAME_SCRIPTS.map((name) => ({ name, re: new RegExp(`^\\p{Script_Extensions=${name}}$`, 'u') }));

const CJK_WITH_LATIN: readonly ReadonlySet<string>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

// Letters that make a look-alike of another name or of punctuation. Modifier
// letters (Lm) are spacing diacritics, tone and length marks: ʼ ʻ ʹ ˈ ː pass
// for apostrophes, quotes and colons, Lisu ꓸ ꓹ ꓽ for . , : and ARABIC
// TATWEEL (U+0640) and NKO LAJANYALAN (U+07FA) only stretch the stroke
// between letters, so `عـلـي` reads as `علي` and `ߺߺߺ` as `___`. They are
// refused in every script but Han, Hiragana and Katakana, whose iteration
// and length marks (々 ー ゝ ヽ) are ordinary in words; that also refuses the
// Thai, Lao and Khmer repetition marks (ๆ ໆ ៗ). Lm is tested on the key, so
// superscript letters that NFKC maps to plain ones (ʰ -> h) stay. Beside
// them, the Latin click letters U+01C0-U+01C3 (ǀ ǁ ǂ ǃ: | ‖ ǂ !) and the
// saltillo U+A78B/U+A78C (Ꞌ ꞌ: an apostrophe) are letters only in name.
const LOOK_ALIKE = /[\u01C0-\u01C3\uA78B\uA78C]/u;
const MODIFIER = /\p{Lm}/u;
const ITERATION_SCRIPTS: ReadonlySet<string> = new Set(['Han', 'Hiragana', 'Katakana']);

const scriptsOf = (ch: string): string[] => SCRIPTS.filter((s) => s.re.test(ch)).map((s) => s.name);

const isIterationMark = (scripts: string[]): boolean => scripts.length > 0 && scripts.every((s) => ITERATION_SCRIPTS.has(s));

function lookAlike(username: string, key: string): string | undefined {
  const named = LOOK_ALIKE.exec(username) ?? LOOK_ALIKE.exec(key);
  if (named) return named[0];
  return [...key].find((ch) => MODIFIER.test(ch) && !isIterationMark(scriptsOf(ch)));
}

/** One script, or Latin with one CJK writing system (UTS #39 §5.2, Highly Restrictive). */
export function isHighlyRestrictive(text: string): boolean {
  if (/^[a-z0-9._-]*$/i.test(text)) return true;
  const sets = [...text].map(scriptsOf).filter((s) => s.length > 0);
  if (sets.length === 0) return true;
  const candidates = [...sets[0]!.map((s) => new Set([s])), ...CJK_WITH_LATIN];
  return candidates.some((allowed) => sets.every((scripts) => scripts.some((s) => allowed.has(s))));
}

// Decimal digits are encoded in runs of ten from zero (a Unicode stability
// guarantee), so a digit's system is named by the zero of its run: `1٣`
// (ASCII and Arabic-Indic) or `٣۳` (Arabic-Indic and Extended Arabic-Indic)
// mix two.
const DIGIT = /\p{Nd}/u;
function digitZero(ch: string): number {
  const cp = ch.codePointAt(0)!;
  let start = cp;
  while (DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return cp - ((cp - start) % 10);
}

const mixesDigits = (key: string): boolean => new Set([...key].filter((ch) => DIGIT.test(ch)).map(digitZero)).size > 1;

/**
 * The rules a new name meets on top of checkUsername's. Names registered
 * before them keep logging in: authenticate checks only the format.
 */
export function checkNewUsername(username: string): void {
  checkUsername(username);
  const key = normalizeUsername(username);
  const letter = lookAlike(username, key);
  if (letter !== undefined) {
    throw new AppError('invalid_request', {
      description: `username must not contain letters that pass for punctuation or strokes (U+${hex(letter)})`,
      reason: 'look-alike letter in username',
    });
  }
  if (!isHighlyRestrictive(username) || !isHighlyRestrictive(key)) {
    throw new AppError('invalid_request', { description: 'username must not mix scripts', reason: 'mixed scripts in username' });
  }
  if (mixesDigits(key)) {
    throw new AppError('invalid_request', { description: 'username must not mix digits of different systems', reason: 'mixed digit systems in username' });
  }
}
