import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { foldCase } from '../src/auth/case-fold.js';
import { CASE_FOLDING_UNICODE_VERSION } from '../src/auth/case-folding-data.js';
import { normalizeUsername } from '../src/auth/usernames.js';
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

for (const backend of BACKENDS) {
  describe(`usernames over HTTP (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    it('a final or capital sigma is the same name as a small sigma: 409', async () => {
      assert.equal((await register(t.app, 'abcqeqqσ')).statusCode, 201);
      for (const name of ['ABCQEQQΣ', 'abcqeqqς', 'AbcQeqqς']) {
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
      assert.equal((await register(t.app, 'Gauß_σς')).statusCode, 201);
      for (const name of ['GAUSS_ΣΣ', 'gauss_σσ', 'ｇａｕß_Σς']) {
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
  });
}
