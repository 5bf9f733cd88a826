// Copies the non-TypeScript files the code reads at run time (SQL, Lua,
// word lists, the dashboard page, the hashing thread) from src/ to dist/, keeping their
// relative paths.
import { cpSync } from 'node:fs';

const ASSET = /\.(sql|lua|txt|html|css|mjs)$|\/http\/dashboard\/[^/]+\.js$/;
cpSync('src', 'dist', {
  recursive: true,
  filter: (path) => !/\.[a-z]+$/.test(path) || ASSET.test(path),
});
