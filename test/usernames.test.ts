import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { foldCase } from '../src/auth/case-fold.js';
import { CASE_FOLDING_UNICODE_VERSION } from '../src/auth/case-folding-data.js';
import { normalizeUsername, USERNAME_SCRIPTS } from '../src/auth/usernames.js';
import { BACKENDS, createTestApp, json, PASSWORD, post, register, type TestApp } from './helpers.js';

type Folding = Map<number, number | number[]>;
const load = async (status: 'C' | 'F'): Promise<Folding> =>
  ((await import(`@unicode/unicode-${CASE_FOLDING_UNICODE_VERSION}/Case_Folding/${status}/code-points.mjs`)) as { default: Folding }).default;

function* everyCodePoint(): Generator<string> {
  for (let cp = 0; cp < 0x110000; cp++) if (cp < 0xd800 || cp > 0xdfff) yield String.fromCodePoint(cp);
}

describe('username keys', () => {
  it('fold exactly as CaseFolding.txt statuses C and F, and leave every other code point alone', async () => {
    const [common, full] = [await load('C'), await load('F')];
    for (const ch of everyCodePoint()) {
      const cp = ch.codePointAt(0)!;
      const to = full.get(cp) ?? common.get(cp);
      const want = to === undefined ? ch : String.fromCodePoint(...(Array.isArray(to) ? to : [to]));
      if (foldCase(ch) !== want) assert.fail(`U+${cp.toString(16)} folds to ${JSON.stringify(foldCase(ch))}, not ${JSON.stringify(want)}`);
    }
  });

  it('are idempotent over every code point and over mixed strings', () => {
    for (const ch of everyCodePoint()) {
      const key = normalizeUsername(ch);
      if (normalizeUsername(key) !== key) assert.fail(`U+${ch.codePointAt(0)!.toString(16)} is not stable`);
    }
    for (const s of ['ǰ̣', 'ΐ́', 'ﬃ_Ǆ', 'ᾼ̃ᾳ', 'İstanbul', 'ᏚᎢᎵᎬᎢᎬᏒ', 'ａＢｃ', 'ẞ-x']) {
      assert.equal(normalizeUsername(normalizeUsername(s)), normalizeUsername(s), s);
    }
  });

  it('can be recomputed from a key stored under the previous rule (NFKC, then toLowerCase)', () => {
    for (const ch of everyCodePoint()) {
      if (normalizeUsername(ch.normalize('NFKC').toLowerCase()) !== normalizeUsername(ch)) assert.fail(`U+${ch.codePointAt(0)!.toString(16)}`);
    }
  });

  it('fold sigma, sharp s, ligatures and Cherokee', () => {
    for (const name of ['ABCQEQQΣ', 'abcqeqqς', 'abcqeqqσ']) assert.equal(normalizeUsername(name), 'abcqeqqσ');
    assert.equal(normalizeUsername('Straße'), normalizeUsername('STRASSE'));
    assert.equal(normalizeUsername('ﬀoo'), 'ffoo');
    assert.equal(normalizeUsername('ꮪꭲꮅ'), normalizeUsername('ᏚᎢᎵ'));
  });
});

describe('username scripts', () => {
  it('are every script of the Unicode data but Common, Inherited and Unknown', () => {
    const dir = new URL(`../node_modules/@unicode/unicode-${CASE_FOLDING_UNICODE_VERSION}/Script_Extensions/`, import.meta.url);
    const all = readdirSync(dir).filter((name) => !['Common', 'Inherited', 'Unknown'].includes(name));
    assert.deepEqual([...USERNAME_SCRIPTS].sort(), all.sort());
  });
});

// Names a reader takes for one another, each refused with its description.
const LOOK_ALIKES: [string, RegExp][] = [
  ['аlice', /^username must not mix scripts$/],
  ['Αlice', /^username must not mix scripts$/],
  ['alicе', /^username must not mix scripts$/],
  ['alice١', /^username must not mix scripts$/],
  ['عـلـي', /letters that pass for punctuation or strokes \(U\+0640\)/],
  ['ߺߺߺ', /letters that pass for punctuation or strokes \(U\+07FA\)/],
  ['ǀǀǀ', /letters that pass for punctuation or strokes \(U\+01C0\)/],
  ['aǃb', /letters that pass for punctuation or strokes \(U\+01C3\)/],
  ['ʼʼʼ', /letters that pass for punctuation or strokes \(U\+02BC\)/],
  ['ab_ʻc', /letters that pass for punctuation or strokes \(U\+02BB\)/],
  ['علي1١', /^username must not mix digits of different systems$/],
  ['علي١۱', /^username must not mix digits of different systems$/],
];

// One script each, or Latin with a CJK writing system.
const SINGLE_SCRIPT = ['alice_1', 'Ελένη', 'Алиса', 'عمر', 'علي١٢', 'علي12', '王小明', '山田たろうタロウ_yamada', '東京ー9', '김철수', 'kim김철수', 'aʰbc'];

for (const backend of BACKENDS) {
  describe(`usernames over HTTP (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    it('a final or capital sigma is the same name as a small sigma: 409', async () => {
      assert.equal((await register(t.app, 'λογοσ')).statusCode, 201);
      for (const name of ['ΛΟΓΟΣ', 'λογος', 'ΛογοΣ']) {
        const res = await register(t.app, name);
        assert.equal(res.statusCode, 409, name);
        assert.equal(json(res).error, 'username_taken');
      }
    });

    it('ß and SS are one name: 409', async () => {
      assert.equal((await register(t.app, 'straße')).statusCode, 201);
      for (const name of ['STRASSE', 'strasse', 'STRAẞE']) assert.equal((await register(t.app, name)).statusCode, 409, name);
    });

    it('logs in with a case-folded variant of the registered name', async () => {
      assert.equal((await register(t.app, 'Gauß_x')).statusCode, 201);
      assert.equal((await register(t.app, 'Σίσυφος')).statusCode, 201);
      for (const name of ['GAUSS_X', 'gauss_x', 'ｇａｕß_Ｘ', 'ΣΊΣΥΦΟΣ', 'σίσυφοσ']) {
        const res = await post(t.app, '/v1/auth/login', { username: name, password: PASSWORD });
        assert.equal(res.statusCode, 200, name);
      }
    });

    it('refuses code points that render blank with 400 invalid_request, on register and login', async () => {
      const blanks = ['\u3164', '\u115F', '\u1160', '\uFFA0', '\u2800', '\u200B', '\u00AD', '\u2060', '\u180E', '\u{E0020}'];
      for (const blank of blanks) {
        const hex = blank.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        for (const name of [`ab${blank}c`, blank.repeat(3), `${blank}abc`]) {
          for (const url of ['/v1/auth/register', '/v1/auth/login']) {
            const res = await post(t.app, url, { username: name, password: PASSWORD });
            assert.equal(res.statusCode, 400, `${url} U+${hex}`);
            assert.equal(json(res).error, 'invalid_request');
            assert.match(String(json(res).error_description), new RegExp(`blank or invisible \\(U\\+${hex}\\)`));
          }
        }
      }
    });

    it('refuses look-alike names at registration with 400 invalid_request', async () => {
      assert.equal((await register(t.app, 'alice')).statusCode, 201);
      assert.equal((await register(t.app, 'علي')).statusCode, 201);
      for (const [name, description] of LOOK_ALIKES) {
        const res = await register(t.app, name);
        assert.equal(res.statusCode, 400, name);
        assert.equal(json(res).error, 'invalid_request', name);
        assert.match(String(json(res).error_description), description, name);
      }
    });

    it('registers names of one script, and Latin with Japanese, Chinese or Korean', async () => {
      for (const name of SINGLE_SCRIPT) assert.equal((await register(t.app, name)).statusCode, 201, name);
    });

    it('still lets a user log in whose name was stored before the script rule', async () => {
      // Registered as an ordinary name, then renamed in place to what the earlier rule accepted.
      const res = await register(t.app, 'mallory');
      assert.equal(res.statusCode, 201);
      const old = 'mаllory_ʼ';
      await t.db.query('UPDATE users SET username = $1, username_normalized = $2 WHERE id = $3', [old, normalizeUsername(old), json(res).id]);
      assert.equal((await register(t.app, old)).statusCode, 400);
      assert.equal((await post(t.app, '/v1/auth/login', { username: old, password: PASSWORD })).statusCode, 200);
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'MАLLORY_ʼ', password: PASSWORD })).statusCode, 200);
    });
  });
}
