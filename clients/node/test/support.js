'use strict';
// Where the tests find the helper, the shared vectors and docs/spec.md: $FORKEXEC_HELPER,
// $FORKEXEC_VECTORS_DIR, $FORKEXEC_SPEC_MD, else this checkout's target/release/forkexec,
// crates/spec/vectors and docs/spec.md.

const fs = require('node:fs');
const path = require('node:path');
const { parseJson } = require('../lib/spec');

const REPO = path.resolve(__dirname, '..', '..', '..');

function helperPath() {
  const p = process.env.FORKEXEC_HELPER || path.join(REPO, 'target', 'release', 'forkexec');
  if (!fs.existsSync(p)) throw new Error(`no helper at ${p} (run \`make helper\` or set FORKEXEC_HELPER)`);
  return p;
}

function vectorsDir() {
  return process.env.FORKEXEC_VECTORS_DIR || path.join(REPO, 'crates', 'spec', 'vectors');
}

function specMd() {
  const p = process.env.FORKEXEC_SPEC_MD || path.join(REPO, 'docs', 'spec.md');
  return fs.existsSync(p) ? p : null;
}

/** Every vector file: { name, bytes, meta } with meta the `# key: value` lines. */
function loadVectors() {
  const dir = vectorsDir();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.hex')).sort();
  if (files.length === 0) throw new Error(`no vectors in ${dir}`);
  return files.map((file) => {
    const meta = {};
    let hex = '';
    for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
      if (line.startsWith('#')) {
        const m = /^# ([a-z]+): (.*)$/.exec(line);
        if (m && ['expect', 'fault', 'offset', 'errno', 'json', 'canonical', 'build', 'length'].includes(m[1])) {
          if (Object.hasOwn(meta, m[1])) throw new Error(`${file}: ${m[1]} given twice`);
          meta[m[1]] = m[2];
        }
      } else {
        hex += line.replace(/\s+/g, '');
      }
    }
    if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error(`${file}: bad hex data`);
    if (meta.json !== undefined) meta.json = parseJson(meta.json);
    if (meta.build !== undefined) meta.build = parseJson(meta.build);
    return { name: file.replace(/\.hex$/, ''), bytes: Buffer.from(hex, 'hex'), meta };
  });
}

module.exports = { REPO, helperPath, vectorsDir, specMd, loadVectors };
