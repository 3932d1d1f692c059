"""Status records: the fixed-size 32-byte little-endian records the helper writes back.

| offset | error (1) | sync (2) | pid (3) | exit (4) | exec (5) |
|---|---|---|---|---|---|
| 0 | u32 kind | u32 kind | u32 kind | u32 kind | u32 kind |
| 4 | u32 location | u32 pid | u32 pid | i32 wait status | u32 pid |
| 8 | i32 errno | 0 | 0 | u64 user time (µs) | 0 |
| 12 | u32 index | | | | |
| 16 | u32 detail | | | u64 system time (µs) | |
| 24 | 0 | | | u64 max RSS (KiB) | |
"""

import struct
from typing import NamedTuple, Union

from . import names

RECORD_LEN = names.STATUS_RECORD_LEN


class ErrorRecord(NamedTuple):
    """A step failed (the helper exits after writing it)."""

    location: int
    errno: int
    # A field named like tuple.index (which it shadows), as in the Rust client and spec.md.
    index: int  # type: ignore[assignment]
    detail: int


class SyncRecord(NamedTuple):
    """About to exec: the helper waits for one byte (0 = go on)."""

    pid: int


class PidRecord(NamedTuple):
    """The target's pid as the runtime sees it (clone shapes)."""

    pid: int


class ExitRecord(NamedTuple):
    """A supervised target ended: its raw wait status and its own rusage."""

    status: int
    utime_us: int
    stime_us: int
    maxrss_kib: int


class ExecRecord(NamedTuple):
    """A supervising helper saw the target execute."""

    pid: int


#: Any status record.
Record = Union[ErrorRecord, SyncRecord, PidRecord, ExitRecord, ExecRecord]


class UnknownRecordKind(ValueError):
    """A record of a kind this client does not know (a protocol error)."""

    def __init__(self, kind: int) -> None:
        self.kind = kind
        super().__init__(f"unknown status record kind {kind}")


def decode_record(data: bytes) -> "Record":
    """Decodes one 32-byte record; raises :class:`UnknownRecordKind` for an unknown kind."""
    if len(data) != RECORD_LEN:
        raise ValueError(f"a status record is {RECORD_LEN} bytes, not {len(data)}")
    (kind,) = struct.unpack_from("<I", data, 0)
    if kind == names.KIND_ERROR:
        return ErrorRecord(*struct.unpack_from("<IiII", data, 4))
    if kind == names.KIND_SYNC:
        return SyncRecord(*struct.unpack_from("<I", data, 4))
    if kind == names.KIND_PID:
        return PidRecord(*struct.unpack_from("<I", data, 4))
    if kind == names.KIND_EXEC:
        return ExecRecord(*struct.unpack_from("<I", data, 4))
    if kind == names.KIND_EXIT:
        return ExitRecord(*struct.unpack_from("<iQQQ", data, 4))
    raise UnknownRecordKind(kind)


def encode_record(record: "Record") -> bytes:
    """The 32 bytes of a record (for tests and fake helpers)."""
    if isinstance(record, ErrorRecord):
        body = struct.pack("<IIiII", names.KIND_ERROR, *record)
    elif isinstance(record, SyncRecord):
        body = struct.pack("<II", names.KIND_SYNC, record.pid)
    elif isinstance(record, PidRecord):
        body = struct.pack("<II", names.KIND_PID, record.pid)
    elif isinstance(record, ExecRecord):
        body = struct.pack("<II", names.KIND_EXEC, record.pid)
    elif isinstance(record, ExitRecord):
        body = struct.pack("<IiQQQ", names.KIND_EXIT, *record)
    else:
        raise TypeError(f"not a status record: {record!r}")
    return body.ljust(RECORD_LEN, b"\0")
