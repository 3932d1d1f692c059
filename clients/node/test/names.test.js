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
  assert.equal(rows.length, Object.keys(names.LOCATIONS).length);
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

// docs/spec.md "Tables": generated from crates/spec/src/tables.rs, the one table per concept.
function generated(title) {
  const begin = doc.indexOf('<!-- BEGIN GENERATED TABLES');
  const end = doc.indexOf('<!-- END GENERATED TABLES');
  assert.ok(begin >= 0 && end > begin, 'docs/spec.md has no generated tables');
  const block = doc.slice(begin, end);
  const at = block.indexOf(`#### ${title}`);
  assert.ok(at >= 0, `no generated table "${title}"`);
  const next = block.indexOf('\n#### ', at + 5);
  const table = block.slice(at, next < 0 ? undefined : next);
  return table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('|---'))
    .slice(1).map((l) => l.slice(2, -2).split(' | ').map((c) => c.replace(/`/g, '')));
}
const num = (v) => (v.startsWith('0x') ? parseInt(v, 16) : Number(v));
const skipGen = doc && doc.includes('<!-- BEGIN GENERATED TABLES') ? false : 'no generated tables in docs/spec.md';

test('the generated tables of docs/spec.md: records, options, clone and mount flags, resources', { skip: skipGen }, () => {
  assert.deepEqual(Object.fromEntries(generated('Record types').map(([v, , c]) => [c, num(v)])), { ...names.Record });
  const options = Object.fromEntries(Object.entries(names.OPTION_BITS).map(([k, v]) => [k === 'setsid' ? 'no_setsid' : k, v]));
  assert.deepEqual(Object.fromEntries(generated('Option bits').map(([v, n]) => [n, num(v)])), options);
  assert.deepEqual(Object.fromEntries(generated('Clone flags').map(([v, n]) => [n, num(v)])), { ...names.CLONE_FLAGS });
  assert.deepEqual(Object.fromEntries(generated('Mount flags').map(([v, n]) => [n, num(v)])), { ...names.MOUNT_FLAGS });
  assert.deepEqual(generated('Rlimit resources').map(([v, n]) => [num(v), n]), names.RESOURCES.map((n, i) => [i, n]));
  assert.deepEqual(Object.fromEntries(generated('Mount operation flags').map(([v, n]) => [n, num(v)])),
    { optional: names.MOUNT_OP_OPTIONAL, readonly: names.MOUNT_OP_READONLY, dev: names.MOUNT_OP_DEV, cover: names.MOUNT_OP_COVER });
});

test('the generated mount operation kinds: what each takes and its default mode', { skip: skipGen }, () => {
  const rows = generated('Mount operation kinds');
  assert.equal(rows.length, Object.keys(names.MOUNT_KINDS).length);
  for (const [kind, name, flags, mode, size, fd, content, source, dflt, lower, upper] of rows) {
    assert.equal(names.MOUNT_KINDS[name], Number(kind), name);
    const takes = names.MOUNT_OP_FIELDS[name];
    const expect = [
      ...(flags === '-' ? [] : flags.split(', ')),
      ...(mode === 'yes' ? ['mode'] : []), ...(size === 'yes' ? ['size'] : []),
      ...(fd === 'yes' ? [name === 'bind' ? 'source_fd' : 'content_fd'] : []),
      ...(content === 'yes' ? ['content'] : []),
      ...(source === 'none' ? [] : ['source']),
      ...(lower === '0' ? [] : ['lower']), ...(upper === 'yes' ? ['upper', 'work'] : []),
    ];
    assert.equal(names.MOUNT_OP_LOWER[name] ?? 0, Number(lower), name);
    assert.deepEqual([...takes].sort(), expect.sort(), name);
    assert.equal(names.MOUNT_OP_DEFAULT_MODE[name] ?? 0, parseInt(dflt, 8), name);
  }
});

test('the generated Landlock tables: rights, scopes and their known sets', { skip: skipGen }, () => {
  for (const [title, table, known] of [
    ['Landlock filesystem rights', names.LANDLOCK_FS, names.LANDLOCK_FS_KNOWN],
    ['Landlock network rights', names.LANDLOCK_NET, names.LANDLOCK_NET_KNOWN],
    ['Landlock scopes', names.LANDLOCK_SCOPES, names.LANDLOCK_SCOPES_KNOWN],
  ]) {
    const rows = generated(title);
    assert.deepEqual(Object.fromEntries(rows.map(([v, n]) => [n, num(v)])), { ...table }, title);
    assert.equal(rows.reduce((a, [v]) => a | num(v), 0), known, title);
  }
});
