'use strict';
// Status records: the fixed-size 32-byte little-endian records the helper writes back
// (docs/spec.md, "Status records").

const names = require('./names');

const RECORD_LEN = names.STATUS_RECORD_LEN;

/** Decodes one 32-byte record into { kind: 'error'|'sync'|'pid'|'exit'|'exec', ... }. */
function decodeRecord(buf) {
  if (buf.length !== RECORD_LEN) throw new RangeError(`a status record is ${RECORD_LEN} bytes, not ${buf.length}`);
  const kind = buf.readUInt32LE(0);
  switch (kind) {
    case names.Kind.ERROR:
      return { kind: 'error', location: buf.readUInt32LE(4), errno: buf.readInt32LE(8), index: buf.readUInt32LE(12), detail: buf.readUInt32LE(16) };
    case names.Kind.SYNC:
      return { kind: 'sync', pid: buf.readUInt32LE(4) };
    case names.Kind.PID:
      return { kind: 'pid', pid: buf.readUInt32LE(4) };
    case names.Kind.EXEC:
      return { kind: 'exec', pid: buf.readUInt32LE(4) };
    case names.Kind.EXIT:
      return { kind: 'exit', status: buf.readInt32LE(4), utimeUs: buf.readBigUInt64LE(8), stimeUs: buf.readBigUInt64LE(16), maxRssKib: buf.readBigUInt64LE(24) };
    default:
      return { kind: 'unknown', number: kind };
  }
}

/** The 32 bytes of a record (for tests and fake helpers). */
function encodeRecord(rec) {
  const b = Buffer.alloc(RECORD_LEN);
  switch (rec.kind) {
    case 'error':
      b.writeUInt32LE(names.Kind.ERROR, 0);
      b.writeUInt32LE(rec.location, 4);
      b.writeInt32LE(rec.errno, 8);
      b.writeUInt32LE(rec.index || 0, 12);
      b.writeUInt32LE(rec.detail || 0, 16);
      break;
    case 'sync': case 'pid': case 'exec':
      b.writeUInt32LE(names.Kind[rec.kind.toUpperCase()], 0);
      b.writeUInt32LE(rec.pid, 4);
      break;
    case 'exit':
      b.writeUInt32LE(names.Kind.EXIT, 0);
      b.writeInt32LE(rec.status, 4);
      b.writeBigUInt64LE(BigInt(rec.utimeUs || 0), 8);
      b.writeBigUInt64LE(BigInt(rec.stimeUs || 0), 16);
      b.writeBigUInt64LE(BigInt(rec.maxRssKib || 0), 24);
      break;
    default:
      throw new TypeError(`not a status record: ${rec.kind}`);
  }
  return b;
}

module.exports = { RECORD_LEN, decodeRecord, encodeRecord };
