'use strict';
// lib/index.d.ts: it declares exactly what lib/index.js exports, and tsc (when installed: CI
// installs node-typescript) accepts test/types/check.ts against it, strict.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const lib = path.join(__dirname, '..', 'lib');

test('index.d.ts declares every export of index.js and nothing else', () => {
  const dts = fs.readFileSync(path.join(lib, 'index.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export (?:declare )?(?:function|class|const) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(declared)].sort(), Object.keys(require(lib)).sort());
});

function findTsc() {
  if (process.env.TSC) return process.env.TSC;
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir, 'tsc');
    if (dir && fs.existsSync(p)) return p;
  }
  return null;
}

test('tsc --strict accepts the typed use of the API and refuses the wrong one', (t) => {
  const tsc = findTsc();
  if (!tsc) {
    const reason = 'tsc not installed (apt-get install node-typescript)';
    // Counted with the other skips of make test (scripts/skips.sh) when it collects them.
    if (process.env.FORKEXEC_SKIPS) {
      fs.appendFileSync(process.env.FORKEXEC_SKIPS, `${process.getuid()}\tenv\tnode:types.test.js\ttsc\t${reason}\n`);
    }
    t.skip(reason);
    return;
  }
  const r = spawnSync(tsc, ['-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
