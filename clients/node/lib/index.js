'use strict';
// forkexec: a Node client for the forkexec sandbox exec helper (docs/node.md).

const names = require('./names');
const errors = require('./errors');
const wire = require('./wire');
const spec = require('./spec');
const status = require('./status');
const runner = require('./runner');

module.exports = {
  Runner: runner.Runner,
  Process: runner.Process,
  start: runner.start,
  startRaw: runner.startRaw,
  findHelper: runner.findHelper,
  encode: wire.encode,
  encodeUnchecked: wire.encodeUnchecked,
  decode: wire.decode,
  Shape: wire.Shape,
  normalize: spec.normalize,
  parseJson: spec.parseJson,
  decodeRecord: status.decodeRecord,
  encodeRecord: status.encodeRecord,
  ForkexecError: errors.ForkexecError,
  ChildError: errors.ChildError,
  SpecError: errors.SpecError,
  JsonError: errors.JsonError,
  HelperError: errors.HelperError,
  SyncError: errors.SyncError,
  UnsupportedError: errors.UnsupportedError,
  errnoText: errors.errnoText,
  names,
};
