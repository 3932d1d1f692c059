'use strict';
// lib/names.js is a copy of docs/spec.md's tables (which crates/spec is the truth of): each table
// here is compared with the one in the document.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const names = require('../lib/names');
const { ChildError, errnoText } = require('../lib/errors');
const { specMd } = require('./support');

function section(text, from, to) {
  const start = text.indexOf(from);
  assert.ok(start >= 0, `docs/spec.md has no "${from}"`);
  const end = text.indexOf(to, start + from.length);
  assert.ok(end >= 0, `docs/spec.md has no "${to}" after "${from}"`);
  return text.slice(start, end);
}

const path = specMd();
const doc = path ? fs.readFileSync(path, 'utf8') : null;
const skip = doc ? false : 'docs/spec.md not found (set FORKEXEC_SPEC_MD)';

test('error locations match docs/spec.md', { skip }, () => {
  const rows = [...section(doc, '## Error locations', '## Versioning').matchAll(/^\| (\d+) \| `([^`]+)` \|/gm)];
  assert.equal(rows.length, 49);
  assert.deepEqual(Object.fromEntries(rows.map((m) => [m[1], m[2]])), { ...names.LOCATIONS });
});

test('faults (number, name, errno) match docs/spec.md', { skip }, () => {
  const rows = [...section(doc, '### Faults', '### Order of checks').matchAll(/^\| (\d+) \| (\w+) \| (\d+) /gm)];
  assert.equal(rows.length, 17);
  assert.deepEqual(Object.fromEntries(rows.map((m) => [m[1], [m[2], Number(m[3])]])),
    Object.fromEntries(Object.entries(names.FAULTS).map(([n, f]) => [n, [f[0], f[2]]])));
});

test('record types match docs/spec.md', { skip }, () => {
  const rows = [...section(doc, '## Record types', '### 1 ARGS').matchAll(/^\| (\d+) \| ([A-Z_]+) \|/gm)];
  assert.deepEqual(Object.fromEntries(rows.map((m) => [m[2], Number(m[1])])), { ...names.Record });
  assert.equal(names.RECORD_LAST, Math.max(...rows.map((m) => Number(m[1]))));
});

test('option bits and clone flags match docs/spec.md', { skip }, () => {
  const options = [...section(doc, '### Option bits', '### Clone flags').matchAll(/^\| \d+ \| `0x([0-9a-f]+)` \| ([A-Z_]+) \| `(\w+): (true|false)`/gm)];
  assert.equal(options.length, Object.keys(names.OPTION_BITS).length);
  for (const [, hex, name, key] of options) {
    assert.equal(names.OPTION_BITS[key], parseInt(hex, 16), key);
    assert.equal(names.Opt[name], parseInt(hex, 16), name);
  }
  const clone = [...section(doc, '### Clone flags', '### Mount options').matchAll(/^\| `0x([0-9a-f]+)` \| CLONE_\w+ \| `(\w+)`/gm)];
  assert.deepEqual(Object.fromEntries(clone.map((m) => [m[2], parseInt(m[1], 16)])), { ...names.CLONE_FLAGS });
});

test('mount operation kinds match docs/spec.md', { skip }, () => {
  const rows = [...section(doc, '#### Mount operation kinds', '#### Mount operation flags').matchAll(/^\| (\d+) \| `(\w+)` \|/gm)];
  assert.deepEqual(Object.fromEntries(rows.map((m) => [m[2], Number(m[1])])), { ...names.MOUNT_KINDS });
});

test('error messages are go-sandbox\'s', () => {
  const cases = [
    [new ChildError(16, 1, 3), 'mount(3): operation not permitted'],
    [new ChildError(48, 18, 2), 'mount(path)(2): invalid cross-device link'],
    [new ChildError(34, 9, 45, 12), 'spec(offset 45): fd out of range (bad file descriptor)'],
    [new ChildError(99, 1), 'unknown(99)(0): operation not permitted'],
  ];
  for (const [e, text] of cases) assert.equal(e.message, text);
  assert.equal(new ChildError(99, 1).locationName, undefined);
  assert.equal(new ChildError(34, 9, 45, 12).faultName, 'FdOutOfRange');
  assert.equal(errnoText(125), 'operation canceled');
  assert.equal(errnoText(4095), 'errno 4095');
});
