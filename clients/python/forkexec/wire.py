"""Wire format v1 (docs/spec.md): the canonical encoder, and the decoder that validates a spec
exactly as the helper does (same checks, same order, same fault and byte offset).

:func:`encode` writes the records in the canonical order (crates/spec/vectors/README.md and the
Rust client's ``encode.rs``): ARGS always, then every other record in ascending type number
when its value carries something; RLIMIT once per entry, and at MOUNT's place one record per
``mounts`` entry in list order (MOUNT for a raw mount, MOUNT_OP for a mount operation: the list
order is the helper's order and the error index); record flags 0; strings with their NUL. The output is byte-identical to the Rust client's, and it is checked
with :func:`decode` before it is returned, so a spec the helper would refuse is refused here
with the helper's fault and offset (:class:`~forkexec.errors.SpecError`).
"""

import struct
from typing import Any, Dict, List, NoReturn, Optional, Tuple, Union

from . import names
from .errors import SpecError
from .names import Fault, Limit, Record
from .spec import (Credential, IdMap, Landlock, Mount, MountOp, Rlimit, SockFilter, Spec,
                   normalized, seccomp_programs)

_REPEATABLE = (Record.RLIMIT, Record.SECCOMP, Record.MOUNT, Record.MOUNT_OP,
               Record.LANDLOCK_PATH, Record.LANDLOCK_PORT, Record.LOCK_FILE)
_MOUNT_RECORDS = (Record.MOUNT, Record.MOUNT_OP)
_KIND_NAMES = {v: k for k, v in names.MOUNT_KINDS.items()}

# Shapes (docs/spec.md, "Process shapes").
IN_PLACE = "in_place"
SUPERVISE = "supervise"
DETACH = "detach"
INIT = "init"


def _b(s: Union[str, bytes]) -> bytes:
    """A string's wire bytes: ``str`` as UTF-8 (lone surrogates back to their bytes)."""
    if isinstance(s, str):
        return s.encode("utf-8", "surrogateescape")
    return bytes(s)


def _record(out: Any, rtype: Any, payload: Any) -> Any:
    out += struct.pack("<HHI", rtype, 0, len(payload))
    out += payload


def _strings(items: Any) -> Any:
    return b"".join(_b(s) + b"\0" for s in items)


def _u32(n: Any) -> Any:
    """An fd as u32: negative numbers as their two's complement (refused as out of range)."""
    return struct.pack("<I", n & 0xFFFF_FFFF)


def _check_nul(spec: Any) -> Any:
    for key in ("args", "env"):
        for i, s in enumerate(getattr(spec, key)):
            if b"\0" in _b(s):
                raise SpecError(field=f"{key}[{i}]")
    for key in ("exec_path", "work_dir", "pivot_root", "cgroup", "host_name", "domain_name"):
        value = getattr(spec, key)
        if value is not None and b"\0" in _b(value):
            raise SpecError(field=key)
    for i, m in enumerate(spec.mounts):
        # A file operation's content is not a string: it may hold NUL bytes.
        keys = ("source", "target") if isinstance(m, MountOp) else (
            "source", "target", "fstype", "data")
        for key in keys:
            if b"\0" in _b(getattr(m, key)):
                raise SpecError(field=f"mounts[{i}].{key}")
        if isinstance(m, MountOp):
            # An overlay's layers are NUL-terminated paths on the wire.
            layers = [("upper", m.upper), ("work", m.work)] + [("lower", p) for p in m.lower]
            for key, value in layers:
                if b"\0" in _b(value):
                    raise SpecError(field=f"mounts[{i}].{key}")


def mount_op_content(op: MountOp) -> bytes:
    """A MOUNT_OP record's content: a file's bytes, or an overlay's layers (``upper`` and
    ``work`` when set, then ``lower``, topmost first), each NUL-terminated."""
    if not names.MOUNT_KIND_TABLE[op.type].lower:
        return b"" if op.content is None else _b(op.content)
    layers = [p for p in (op.upper, op.work) if p] + list(op.lower)
    return b"".join(_b(p) + b"\0" for p in layers)


def mount_op_payload(op: MountOp) -> bytes:
    """A MOUNT_OP record's payload: u16 kind, u16 flags, u32 mode, u64 size, i32 fd (-1 for
    none), ``source`` and ``target`` with their NULs, then the content
    (:func:`mount_op_content`)."""
    flags = ((names.MOUNT_OP_OPTIONAL if op.optional else 0)
             | (names.MOUNT_OP_READONLY if op.readonly else 0)
             | (names.MOUNT_OP_DEV if op.dev else 0)
             | (names.MOUNT_OP_COVER if op.cover else 0))
    fd = op.source_fd if op.source_fd is not None else op.content_fd
    return (struct.pack("<HHIQi", names.MOUNT_KINDS[op.type], flags, op.mode or 0, op.size,
                        -1 if fd is None else fd)
            + _b(op.source) + b"\0" + _b(op.target) + b"\0" + mount_op_content(op))


def encode_unchecked(spec: Spec) -> bytes:
    """The canonical bytes of ``spec`` without running the decoder over them (NUL bytes in
    strings are still refused). For tests that want to see what a refused spec looks like."""
    return _encode_normalized(normalized(spec))


def _encode_normalized(spec: Spec) -> bytes:
    """:func:`encode_unchecked` of a spec :func:`~forkexec.spec.normalized` already."""
    _check_nul(spec)
    out = bytearray(names.MAGIC + struct.pack("<HHI", names.VERSION, 0, 0))
    _record(out, Record.ARGS, _strings(spec.args))
    if spec.env:
        _record(out, Record.ENV, _strings(spec.env))
    if spec.exec_path is not None:
        _record(out, Record.EXEC_PATH, _b(spec.exec_path) + b"\0")
    if spec.exec_file is not None:
        _record(out, Record.EXEC_FD, _u32(spec.exec_file))
    for r in spec.rlimits:
        resource = names.RESOURCES.index(r.resource)
        _record(out, Record.RLIMIT, struct.pack("<IQQ", resource, r.cur, r.max))
    if spec.files:
        _record(out, Record.FILES, struct.pack(f"<{len(spec.files)}i", *spec.files))
    if spec.work_dir:
        _record(out, Record.WORK_DIR, _b(spec.work_dir) + b"\0")
    for program in seccomp_programs(spec):
        _record(out, Record.SECCOMP,
                b"".join(struct.pack("<HBBI", i.code, i.jt, i.jf, i.k) for i in program))
    clone_flags = spec.clone_flag_bits()
    if clone_flags:
        _record(out, Record.CLONE_FLAGS, struct.pack("<Q", clone_flags))
    for m in spec.mounts:
        if isinstance(m, MountOp):
            _record(out, Record.MOUNT_OP, mount_op_payload(m))
            continue
        flags = 0
        for f in m.flags:
            flags |= names.MOUNT_FLAGS[f]
        options = (names.MOUNT_MKDIR if m.mkdir else 0) | (names.MOUNT_FILE if m.file else 0)
        payload = struct.pack("<QI", flags, options) + _strings(
            (m.source, m.target, m.fstype, m.data))
        _record(out, Record.MOUNT, payload)
    for key, rtype in (("pivot_root", Record.PIVOT_ROOT), ("host_name", Record.HOST_NAME),
                       ("domain_name", Record.DOMAIN_NAME)):
        value = getattr(spec, key)
        if value:
            _record(out, rtype, _b(value) + b"\0")
    for key, rtype in (("uid_mappings", Record.UID_MAP), ("gid_mappings", Record.GID_MAP)):
        maps = getattr(spec, key)
        if maps:
            _record(out, rtype, b"".join(
                struct.pack("<III", m.container_id, m.host_id, m.size) for m in maps))
    if spec.credential is not None:
        c = spec.credential
        flags = names.CRED_NO_SETGROUPS if c.no_set_groups else 0
        _record(out, Record.CREDENTIAL, struct.pack(
            f"<III{len(c.groups)}I", c.uid, c.gid, flags, *c.groups))
    options = spec.option_bits()
    if options:
        _record(out, Record.OPTIONS, struct.pack("<Q", options))
    if spec.status_fd is not None:
        _record(out, Record.STATUS_FD, _u32(spec.status_fd))
    if spec.cgroup:
        _record(out, Record.CGROUP_PATH, _b(spec.cgroup) + b"\0")
    if spec.cgroup_fd is not None:
        _record(out, Record.CGROUP_FD, _u32(spec.cgroup_fd))
    if spec.landlock is not None:
        _landlock_records(out, spec.landlock)
    if spec.info_fd is not None:
        _record(out, Record.INFO_FD, _u32(spec.info_fd))
    if spec.json_status_fd is not None:
        _record(out, Record.JSON_STATUS_FD, _u32(spec.json_status_fd))
    if spec.join_ns is not None:
        j = spec.join_ns
        fds = (-1 if fd is None else fd for fd in (j.user, j.pid, j.user2))
        _record(out, Record.JOIN_NS, struct.pack("<3i", *fds))
    for path in spec.lock_files:
        _record(out, Record.LOCK_FILE, _b(path) + b"\0")
    if spec.sync_fd is not None:
        _record(out, Record.SYNC_FD, _u32(spec.sync_fd))
    if spec.caps is not None:
        kept = 0
        for cap in spec.caps.keep:
            kept |= 1 << cap
        _record(out, Record.CAPS, struct.pack("<QI", kept, names.CAPS_LEAVE_SETS
                                              if spec.caps.leave_sets else 0))
    if spec.block_fd is not None:
        _record(out, Record.BLOCK_FD, _u32(spec.block_fd))
    if spec.userns_block_fd is not None:
        _record(out, Record.USERNS_BLOCK_FD, _u32(spec.userns_block_fd))
    if len(out) > 0xFFFF_FFFF:
        raise SpecError(Fault.BAD_TOTAL_LENGTH, 8, "header")
    out[8:12] = struct.pack("<I", len(out))
    return bytes(out)


def _rights(names_: List[str], table: Dict[str, int], groups: Dict[str, int]) -> int:
    bits = 0
    for n in names_:
        bits |= groups.get(n) or table[n]
    return bits


def _landlock_records(out: bytearray, ll: Landlock) -> None:
    """LANDLOCK, then its rules: ``fs``/``net`` present (even empty) handle every right of
    their kind."""
    fs = names.LANDLOCK_FS_KNOWN if ll.fs is not None else 0
    net = names.LANDLOCK_NET_KNOWN if ll.net is not None else 0
    scoped = _rights(ll.scope, names.LANDLOCK_SCOPES, {})
    if not (fs or net or scoped):
        raise ValueError("landlock restricts nothing: give fs, net (even empty) or scope")
    flags = names.LANDLOCK_EXACT if ll.exact else 0
    _record(out, Record.LANDLOCK, struct.pack("<QQQI", fs, net, scoped, flags))
    for rule in ll.fs or []:
        access = _rights(rule["access"], names.LANDLOCK_FS, names.LANDLOCK_FS_GROUPS)
        _record(out, Record.LANDLOCK_PATH, struct.pack("<Q", access) + _b(rule["path"]) + b"\0")
    for rule in ll.net or []:
        access = _rights(rule["access"], names.LANDLOCK_NET, {})
        _record(out, Record.LANDLOCK_PORT, struct.pack("<QQ", access, rule["port"]))


def _names_of(bits: int, table: Dict[str, int]) -> List[str]:
    return [n for n, b in table.items() if bits & b]


def encode(spec: Union[Spec, Dict[str, Any]]) -> bytes:
    """The wire bytes of ``spec`` (a :class:`Spec`, or a dict in the JSON form) in the
    canonical record order, checked by :func:`decode`: a spec the helper would refuse raises
    :class:`SpecError` with the helper's fault and offset, and ``record`` naming what is there.

    Refusals that depend on who runs the helper (the process shape: ptrace with a supervised
    clone) are checked by :meth:`Decoded.shape`, which :meth:`Runner.start` calls."""
    if not isinstance(spec, Spec):
        spec = Spec.from_json(spec)
    return encode_checked(normalized(spec))[0]


def encode_checked(spec: Spec) -> Tuple[bytes, "Decoded"]:
    """:func:`encode` of a spec :func:`~forkexec.spec.normalized` already (as
    :meth:`Runner.start` has it), with the :class:`Decoded` the check produced (for its
    :meth:`~Decoded.shape`): one normalization and one decoder pass per start."""
    data = _encode_normalized(spec)
    try:
        decoded = _decode(data)
    except SpecError as e:
        raise SpecError(e.fault, e.offset, record_at(data, e.offset)) from None
    return data, decoded


def record_at(data: bytes, offset: Optional[int]) -> str:
    """What sits at byte ``offset`` of a well-framed spec, for messages: ``header``, a record
    name (``clone_flags``; ``rlimits[i]`` and ``mounts[i]`` counted in order, MOUNT and
    MOUNT_OP records together; ``seccomp[i]`` when there are several programs) or ``end of
    spec``."""
    if offset is None or offset < names.HEADER_LEN:
        return "header"
    at, counts = names.HEADER_LEN, {Record.RLIMIT: 0, Record.MOUNT: 0, Record.SECCOMP: 0}
    programs, scan = 0, names.HEADER_LEN
    while scan + names.RECORD_HEADER_LEN <= len(data):
        rtype, _flags, length = struct.unpack_from("<HHI", data, scan)
        programs += rtype == Record.SECCOMP
        scan += names.RECORD_HEADER_LEN + length
    while at + names.RECORD_HEADER_LEN <= len(data):
        rtype, _flags, length = struct.unpack_from("<HHI", data, at)
        end = at + names.RECORD_HEADER_LEN + length
        if offset < end:
            if rtype == Record.RLIMIT:
                return f"rlimits[{counts[rtype]}]"
            if rtype == Record.SECCOMP and programs > 1:
                return f"seccomp[{counts[rtype]}]"
            if rtype == Record.MOUNT_OP:
                key = _mount_op_field(data[at + names.RECORD_HEADER_LEN:end],
                                      offset - at - names.RECORD_HEADER_LEN)
                entry = f"mounts[{counts[Record.MOUNT]}]"
                return f"{entry}.{key}" if key else entry
            if rtype in _MOUNT_RECORDS:
                return f"mounts[{counts[Record.MOUNT]}]"
            return names.RECORD_NAMES.get(rtype, "unknown")
        if rtype in _MOUNT_RECORDS:
            counts[Record.MOUNT] += 1
        elif rtype in counts:
            counts[rtype] += 1
        at = end
    return "end of spec"


def _mount_op_field(p: Any, at: Any) -> Any:
    """The JSON key of a MOUNT_OP payload's byte ``at`` (``type``, ``mode``, ``size``,
    ``source_fd`` or ``content_fd``, ``source``, ``target``, ``content``), as the Rust client
    names it; ``None`` for the flag bits (several keys) or a byte outside the payload."""
    if at < 0:
        return None
    fixed = names.MOUNT_OP_FIXED_LEN
    for end, key in ((2, "type"), (4, None), (8, "mode"), (16, "size")):
        if at < end:
            return key
    if at < fixed:
        if len(p) < 2:
            return None
        kind = struct.unpack_from("<H", p)[0]
        name = _KIND_NAMES.get(kind)
        return names.MOUNT_KIND_TABLE[name].fd_key if name else "source_fd"
    source_end = p.find(b"\0", fixed)
    if source_end < 0:
        return None
    if at <= source_end:
        return "source"
    target_end = p.find(b"\0", source_end + 1)
    if target_end < 0:
        return None
    if at <= target_end:
        return "target"
    name = _KIND_NAMES.get(struct.unpack_from("<H", p)[0])
    # An overlay's layers: upper, work and lower are all refused the same ways.
    return "lower" if name and names.MOUNT_KIND_TABLE[name].lower else "content"


# --- the decoder ------------------------------------------------------------------------------

class Decoded:
    """A spec that passed every check of docs/spec.md ("Order of checks", steps 1-3).

    ``spec`` is the :class:`Spec` it describes (strings decoded as UTF-8 with
    ``surrogateescape``, so non-UTF-8 bytes survive a round trip), built when first read
    (given as the decoded fields, so a decode that is only a check, such as
    :meth:`Runner.start`'s, does not pay for it); ``offsets`` maps record types to the offset
    ``R`` of (the first of) their records; ``options_offset`` is ``P`` of OPTIONS."""

    def __init__(self, spec: Union[Spec, Dict[str, Any]], offsets: Dict[int, int],
                 options_offset: Optional[int], clone_flags: int, options: int,
                 uid_map: Optional[List[Tuple[int, int, int]]],
                 gid_map: Optional[List[Tuple[int, int, int]]],
                 joins_pid: bool = False) -> None:
        self._spec = spec
        self.offsets = offsets
        self.options_offset = options_offset
        self.clone_flags = clone_flags
        self.options = options
        self._uid_map = uid_map
        self._gid_map = gid_map
        self._joins_pid = joins_pid

    @property
    def spec(self) -> Spec:
        """The :class:`Spec` the bytes describe."""
        if not isinstance(self._spec, Spec):
            self._spec = Spec(**self._spec)
        return self._spec

    def has_id_maps(self) -> bool:
        """Whether the spec maps ids: only then does :meth:`shape` depend on the ids it is
        given (a map of our own id alone is written by the helper itself, in place)."""
        return self._uid_map is not None or self._gid_map is not None

    def shape(self, euid: int, egid: int) -> str:
        """The process shape the helper picks when it runs with these effective ids (step 4
        of the checks): ``"in_place"``, ``"supervise"``, ``"detach"`` or ``"init"``. Raises
        :class:`SpecError` (Conflict at ``P`` of OPTIONS) for ptrace or stop_before_seccomp in
        a supervised shape."""

        def self_map(entries: Any, own: Any) -> Any:
            return entries is None or (
                len(entries) == 1 and entries[0][2] == 1 and entries[0][1] == own)

        outer = (not self_map(self._uid_map, euid) or not self_map(self._gid_map, egid)
                 or (self._gid_map is not None
                     and self.options & names.OPT_GID_MAPPINGS_ENABLE_SETGROUPS))
        if self.options & names.OPT_INIT:
            shape = INIT
        elif self.options & names.OPT_DETACH:
            shape = DETACH
        elif (outer or self.clone_flags & names.CLONE_NEWPID
              # a JSON status fd's exit code needs a helper that stays; a joined pid
              # namespace takes a clone
              or Record.JSON_STATUS_FD in self.offsets
              or self._joins_pid):
            shape = SUPERVISE
        else:
            shape = IN_PLACE
        traced = self.options & (names.OPT_PTRACE | names.OPT_STOP_BEFORE_SECCOMP)
        if traced and shape in (SUPERVISE, INIT):
            raise SpecError(Fault.CONFLICT, self.options_offset)
        return shape


def _fail(fault: int, offset: Optional[int]) -> NoReturn:
    raise SpecError(fault, offset)


def _s(raw: Any) -> Any:
    return raw.decode("utf-8", "surrogateescape")


def _check_header(buf: Any) -> Any:
    n = len(buf)
    for i in range(min(4, n)):
        if buf[i] != names.MAGIC[i]:
            _fail(Fault.BAD_MAGIC, i)
    if n < names.HEADER_LEN:
        _fail(Fault.TRUNCATED, n)
    version, hflags, total = struct.unpack_from("<HHI", buf, 4)
    if version != names.VERSION:
        _fail(Fault.BAD_VERSION, 4)
    if hflags != 0:
        _fail(Fault.UNKNOWN_BITS, 6)
    if total < names.HEADER_LEN or total > Limit.SPEC:
        _fail(Fault.BAD_TOTAL_LENGTH, 8)
    if total > n:
        _fail(Fault.TRUNCATED, n)
    if total < n:
        _fail(Fault.BAD_TOTAL_LENGTH, 8)
    return total


def _string_list(buf: Any, p: Any, length: Any, limit: Any) -> Any:
    payload = buf[p:p + length]
    if length and payload[-1] != 0:
        _fail(Fault.UNTERMINATED, p + length)
    count = payload.count(0)
    if count > limit:
        _fail(Fault.TOO_MANY, p)
    return [_s(x) for x in payload.split(b"\0")[:-1]] if length else []


def _single_string(buf: Any, p: Any, length: Any, limit: Any) -> Any:
    payload = buf[p:p + length]
    nul = payload.find(0)
    if nul < 0:
        _fail(Fault.UNTERMINATED, p + length)
    if nul != length - 1:
        _fail(Fault.INTERIOR_NUL, p + nul)
    if length > limit:
        _fail(Fault.TOO_LONG, p)
    return payload[:-1]


def _fd(buf: Any, r: Any, p: Any, length: Any) -> Any:
    if length != 4:
        _fail(Fault.BAD_RECORD_LENGTH, r + 4)
    (fd,) = struct.unpack_from("<I", buf, p)
    if fd >= Limit.FD:
        _fail(Fault.FD_OUT_OF_RANGE, p)
    return fd


def _id_entries(buf: Any, r: Any, p: Any, length: Any) -> Any:
    if length == 0 or length % 12:
        _fail(Fault.BAD_RECORD_LENGTH, r + 4)
    if length // 12 > Limit.ID_MAP:
        _fail(Fault.TOO_MANY, p)
    entries = [struct.unpack_from("<III", buf, p + 12 * i) for i in range(length // 12)]
    for i, (cid, hid, size) in enumerate(entries):
        if size == 0 or cid + size > 0xFFFF_FFFF or hid + size > 0xFFFF_FFFF:
            _fail(Fault.BAD_VALUE, p + 12 * i + 8)
    return entries


def _mount_record(buf: Any, r: Any, p: Any, length: Any) -> Any:
    if length < 12:
        _fail(Fault.BAD_RECORD_LENGTH, r + 4)
    flags, options = struct.unpack_from("<QI", buf, p)
    if flags & ~names.MOUNT_FLAGS_KNOWN:
        _fail(Fault.UNKNOWN_BITS, p)
    if options & ~names.MOUNT_OPTIONS_KNOWN:
        _fail(Fault.UNKNOWN_BITS, p + 8)
    end = p + length
    at = p + 12
    strings = []
    for limit in (Limit.PATH, Limit.PATH, Limit.FSTYPE, Limit.MOUNT_DATA):
        nul = buf.find(b"\0", at, end)
        if nul < 0:
            _fail(Fault.UNTERMINATED, end)
        if nul + 1 - at > limit:
            _fail(Fault.TOO_LONG, at)
        strings.append((at, buf[at:nul]))
        at = nul + 1
    if at != end:
        _fail(Fault.BAD_RECORD_LENGTH, at)
    target_at, target = strings[1]
    if not target:
        _fail(Fault.BAD_VALUE, target_at)
    source, fstype, data = strings[0][1], strings[2][1], strings[3][1]
    return Mount(
        source=_s(source), target=_s(target), fstype=_s(fstype),
        flags=[n for n, v in names.MOUNT_FLAGS.items() if flags & v],
        data=_s(data), mkdir=bool(options & names.MOUNT_MKDIR),
        file=bool(options & names.MOUNT_FILE))


def _layers(content: bytes, at: int, row: Any) -> List[bytes]:
    """An overlay's layers, checked as ``parse_layers`` (crates/spec/src/decode.rs) checks
    them: NUL-terminated absolute paths of at most ``Limit.PATH`` bytes with the NUL, enough
    of them and at most ``Limit.OVERLAY_LOWER`` lower ones."""
    fixed = 2 if row.upper else 0
    layers = []
    off = 0
    while off < len(content):
        nul = content.find(b"\0", off)
        if nul < 0:
            _fail(Fault.UNTERMINATED, at + len(content))
        if nul + 1 - off > Limit.PATH:
            _fail(Fault.TOO_LONG, at + off)
        if content[off:off + 1] != b"/":
            _fail(Fault.BAD_VALUE, at + off)
        layers.append(content[off:nul])
        if len(layers) > fixed + Limit.OVERLAY_LOWER:
            _fail(Fault.TOO_MANY, at + off)
        off = nul + 1
    if len(layers) < fixed + row.lower:
        _fail(Fault.BAD_VALUE, at + len(content))
    return layers


def _mount_op_record(buf: Any, r: Any, p: Any, length: Any) -> Any:
    """A MOUNT_OP payload, checked as ``parse_mount_op`` (crates/spec/src/decode.rs) checks
    it, in the same order."""
    if length < names.MOUNT_OP_FIXED_LEN:
        _fail(Fault.BAD_RECORD_LENGTH, r + 4)
    kind, flags, mode, size, fd = struct.unpack_from("<HHIQi", buf, p)
    if kind not in _KIND_NAMES:
        _fail(Fault.BAD_VALUE, p)
    if flags & ~names.MOUNT_OP_FLAGS_KNOWN:
        _fail(Fault.UNKNOWN_BITS, p + 2)
    if fd != -1 and not 0 <= fd < Limit.FD:
        _fail(Fault.FD_OUT_OF_RANGE, p + 16)
    fd = None if fd == -1 else fd
    end = p + length
    at = p + names.MOUNT_OP_FIXED_LEN
    strings = []
    for _ in range(2):  # source, target
        nul = buf.find(b"\0", at, end)
        if nul < 0:
            _fail(Fault.UNTERMINATED, end)
        if nul + 1 - at > Limit.PATH:
            _fail(Fault.TOO_LONG, at)
        strings.append((at, buf[at:nul]))
        at = nul + 1
    (source_at, source), (target_at, target) = strings
    content = buf[at:end]
    name = _KIND_NAMES[kind]
    row = names.MOUNT_KIND_TABLE[name]
    if flags & ~row.flags:
        _fail(Fault.BAD_VALUE, p + 2)
    takes_mode = row.mode
    if mode > Limit.MODE or (not takes_mode and mode != 0):
        _fail(Fault.BAD_VALUE, p + 4)
    if not row.size and size != 0:
        _fail(Fault.BAD_VALUE, p + 8)
    if fd is not None and not row.fd:
        _fail(Fault.BAD_VALUE, p + 16)
    if row.source == "path_or_fd":
        if (not source) == (fd is None):  # exactly one of a source path and an fd
            _fail(Fault.CONFLICT, source_at)
    elif row.source == "text":
        if not source:
            _fail(Fault.BAD_VALUE, source_at)
    elif source:
        _fail(Fault.BAD_VALUE, source_at)
    layers = _layers(content, at, row) if row.lower else []
    if not row.lower and content and (not row.content or fd is not None):
        _fail(Fault.CONFLICT if row.content else Fault.BAD_VALUE, at)
    if not target.startswith(b"/"):
        _fail(Fault.BAD_VALUE, target_at)
    values = {"type": name, "target": _s(target)}
    if source:
        values["source"] = _s(source)
    if fd is not None:
        values[row.fd_key] = fd
    if row.size:
        values["size"] = size
    if takes_mode:
        values["mode"] = mode
    if row.lower:
        fixed = 2 if row.upper else 0
        values["lower"] = [_s(x) for x in layers[fixed:]]
        if row.upper:
            values["upper"], values["work"] = _s(layers[0]), _s(layers[1])
    elif content:
        values["content"] = _s(content)
    values["readonly"] = bool(flags & names.MOUNT_OP_READONLY)
    values["dev"] = bool(flags & names.MOUNT_OP_DEV)
    values["optional"] = bool(flags & names.MOUNT_OP_OPTIONAL)
    values["cover"] = bool(flags & names.MOUNT_OP_COVER)
    return MountOp(**values), fd


def decode(buf: Union[bytes, bytearray, memoryview]) -> Decoded:
    """Decodes and validates a whole spec as the helper does, returning a :class:`Decoded`,
    or raises :class:`SpecError` with the first failing check's fault and byte offset.
    ``buf`` must be exactly the spec."""
    decoded = _decode(buf)
    decoded.spec  # built now, as it always was: its own checks raise here
    return decoded


def _decode(buf: Union[bytes, bytearray, memoryview]) -> Decoded:
    """:func:`decode`, with :attr:`Decoded.spec` built only when read."""
    buf = bytes(buf)
    total = _check_header(buf)
    seen: Dict[int, int] = {}  # record type -> offset R of its first record
    spec: Dict[str, Any] = {}
    rlimits: List[Rlimit] = []
    programs: List[List[SockFilter]] = []
    mounts: List[Union[Mount, MountOp]] = []
    op_fds = []  # (offset P + 16, fd) of each MOUNT_OP with an fd
    landlock = None  # (fs, net, scopes, flags) of the LANDLOCK record
    ll_paths: List[Tuple[int, int, Any]] = []  # (P, access, path) of each LANDLOCK_PATH
    ll_ports: List[Tuple[int, int, Any]] = []  # (P, access, port) of each LANDLOCK_PORT
    first_mount = None  # R of the first MOUNT or MOUNT_OP
    clone_flags = options = 0
    options_at = None
    uid_map = gid_map = None
    host_domain_last = None
    at = names.HEADER_LEN
    while at < total:
        r = at
        if total - r < names.RECORD_HEADER_LEN:
            _fail(Fault.TRUNCATED, total)
        rtype, rflags, length = struct.unpack_from("<HHI", buf, r)
        p = r + names.RECORD_HEADER_LEN
        if length > total - p:
            _fail(Fault.TRUNCATED, total)
        at = p + length
        if rflags & ~names.SKIP_IF_UNKNOWN:
            _fail(Fault.UNKNOWN_BITS, r + 2)
        if rtype not in names.RECORD_NAMES:  # (a gap in the numbering is unknown too)
            if rflags & names.SKIP_IF_UNKNOWN:
                continue
            _fail(Fault.UNKNOWN_RECORD, r)
        if rtype not in _REPEATABLE and rtype in seen:
            _fail(Fault.DUPLICATE_RECORD, r)
        seen.setdefault(rtype, r)

        if rtype in (Record.ARGS, Record.ENV):
            key = "args" if rtype == Record.ARGS else "env"
            spec[key] = _string_list(buf, p, length, Limit.STRINGS)
        elif rtype in (Record.EXEC_PATH, Record.WORK_DIR, Record.PIVOT_ROOT,
                       Record.HOST_NAME, Record.DOMAIN_NAME, Record.CGROUP_PATH):
            limit = Limit.NAME if rtype in (Record.HOST_NAME, Record.DOMAIN_NAME) else Limit.PATH
            s = _single_string(buf, p, length, limit)
            if rtype in (Record.EXEC_PATH, Record.WORK_DIR, Record.PIVOT_ROOT) and not s:
                _fail(Fault.BAD_VALUE, p)
            if rtype in (Record.PIVOT_ROOT, Record.CGROUP_PATH) and not s.startswith(b"/"):
                _fail(Fault.BAD_VALUE, p)
            if rtype in (Record.HOST_NAME, Record.DOMAIN_NAME):
                host_domain_last = r
            key = {Record.EXEC_PATH: "exec_path", Record.WORK_DIR: "work_dir",
                   Record.PIVOT_ROOT: "pivot_root", Record.HOST_NAME: "host_name",
                   Record.DOMAIN_NAME: "domain_name", Record.CGROUP_PATH: "cgroup"}[rtype]
            spec[key] = _s(s)
        elif rtype in (Record.EXEC_FD, Record.STATUS_FD, Record.CGROUP_FD, Record.INFO_FD,
                       Record.JSON_STATUS_FD, Record.SYNC_FD, Record.BLOCK_FD,
                       Record.USERNS_BLOCK_FD):
            key = {Record.EXEC_FD: "exec_file", Record.STATUS_FD: "status_fd",
                   Record.CGROUP_FD: "cgroup_fd", Record.INFO_FD: "info_fd",
                   Record.JSON_STATUS_FD: "json_status_fd", Record.SYNC_FD: "sync_fd",
                   Record.BLOCK_FD: "block_fd", Record.USERNS_BLOCK_FD: "userns_block_fd",
                   }[rtype]
            spec[key] = _fd(buf, r, p, length)
        elif rtype == Record.RLIMIT:
            if len(rlimits) >= Limit.RLIMITS:
                _fail(Fault.TOO_MANY, r)
            if length != 20:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            resource, cur, hard = struct.unpack_from("<IQQ", buf, p)
            if resource >= Limit.RESOURCE:
                _fail(Fault.BAD_VALUE, p)
            if cur > hard:
                _fail(Fault.BAD_VALUE, p + 4)
            rlimits.append(Rlimit(names.RESOURCES[resource], cur, hard))
        elif rtype == Record.FILES:
            if length % 4:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            if length // 4 > Limit.FILES:
                _fail(Fault.TOO_MANY, p)
            files = list(struct.unpack_from(f"<{length // 4}i", buf, p))
            for i, fd in enumerate(files):
                if fd < -1 or fd >= Limit.FD:
                    _fail(Fault.FD_OUT_OF_RANGE, p + 4 * i)
            spec["files"] = files
        elif rtype == Record.SECCOMP:
            if len(programs) >= Limit.SECCOMP_PROGRAMS:
                _fail(Fault.TOO_MANY, r)
            if length == 0 or length % 8:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            if length // 8 > Limit.SECCOMP:
                _fail(Fault.TOO_MANY, p)
            programs.append([SockFilter(*struct.unpack_from("<HBBI", buf, p + 8 * i))
                             for i in range(length // 8)])
        elif rtype == Record.CLONE_FLAGS:
            if length != 8:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            (clone_flags,) = struct.unpack_from("<Q", buf, p)
            if clone_flags & ~names.CLONE_KNOWN:
                _fail(Fault.UNKNOWN_BITS, p)
            spec["clone_flags"] = [n for n, v in names.CLONE_FLAGS.items() if clone_flags & v]
        elif rtype in _MOUNT_RECORDS:
            # MOUNT and MOUNT_OP share the limit and the index space.
            if len(mounts) >= Limit.MOUNTS:
                _fail(Fault.TOO_MANY, r)
            if rtype == Record.MOUNT:
                mounts.append(_mount_record(buf, r, p, length))
            else:
                op, fd = _mount_op_record(buf, r, p, length)
                mounts.append(op)
                if fd is not None:
                    op_fds.append((p + 16, fd))
            if first_mount is None:
                first_mount = r
        elif rtype in (Record.UID_MAP, Record.GID_MAP):
            entries = _id_entries(buf, r, p, length)
            maps = [IdMap(*e) for e in entries]
            if rtype == Record.UID_MAP:
                uid_map, spec["uid_mappings"] = entries, maps
            else:
                gid_map, spec["gid_mappings"] = entries, maps
        elif rtype == Record.CREDENTIAL:
            if length < 12 or (length - 12) % 4:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            ngroups = (length - 12) // 4
            if ngroups > Limit.GROUPS:
                _fail(Fault.TOO_MANY, p + 12)
            uid, gid, cflags = struct.unpack_from("<III", buf, p)
            if cflags & ~names.CRED_FLAGS_KNOWN:
                _fail(Fault.UNKNOWN_BITS, p + 8)
            groups = list(struct.unpack_from(f"<{ngroups}I", buf, p + 12))
            spec["credential"] = Credential(uid, gid, groups,
                                            bool(cflags & names.CRED_NO_SETGROUPS))
        elif rtype == Record.LANDLOCK:
            if length != 28:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            fs, net, scoped, lflags = struct.unpack_from("<QQQI", buf, p)
            for bits, known, off in ((fs, names.LANDLOCK_FS_KNOWN, 0),
                                     (net, names.LANDLOCK_NET_KNOWN, 8),
                                     (scoped, names.LANDLOCK_SCOPES_KNOWN, 16),
                                     (lflags, names.LANDLOCK_EXACT, 24)):
                if bits & ~known:
                    _fail(Fault.UNKNOWN_BITS, p + off)
            if not (fs or net or scoped):
                _fail(Fault.BAD_VALUE, p)
            landlock = (fs, net, scoped, lflags)
        elif rtype in (Record.LANDLOCK_PATH, Record.LANDLOCK_PORT):
            rules = ll_paths if rtype == Record.LANDLOCK_PATH else ll_ports
            if rtype == Record.LANDLOCK_PATH:
                if length < 9:
                    _fail(Fault.BAD_RECORD_LENGTH, r + 4)
                (access,) = struct.unpack_from("<Q", buf, p)
                known = names.LANDLOCK_FS_KNOWN
            else:
                if length != 16:
                    _fail(Fault.BAD_RECORD_LENGTH, r + 4)
                access, port = struct.unpack_from("<QQ", buf, p)
                known = names.LANDLOCK_NET_KNOWN
            if access & ~known:
                _fail(Fault.UNKNOWN_BITS, p)
            if not access:
                _fail(Fault.BAD_VALUE, p)
            if rtype == Record.LANDLOCK_PATH:
                s = _single_string(buf, p + 8, length - 8, Limit.PATH)
                if not s.startswith(b"/"):
                    _fail(Fault.BAD_VALUE, p + 8)
                value: Any = _s(s)
            else:
                if port > 65535:
                    _fail(Fault.BAD_VALUE, p + 8)
                value = port
            # The count after the payload's own checks, as the helper's decoder counts.
            if len(rules) >= Limit.LANDLOCK_RULES:
                _fail(Fault.TOO_MANY, r)
            rules.append((p, access, value))
        elif rtype == Record.JOIN_NS:
            if length != 12:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            fds = struct.unpack_from("<3i", buf, p)
            for i, fd in enumerate(fds):
                if fd < -1 or fd >= Limit.FD:
                    _fail(Fault.FD_OUT_OF_RANGE, p + 4 * i)
            if fds == (-1, -1, -1):
                _fail(Fault.BAD_VALUE, p)
            spec["join_ns"] = {k: fd for k, fd in zip(("user", "pid", "user2"), fds) if fd != -1}
        elif rtype == Record.LOCK_FILE:
            s = _single_string(buf, p, length, Limit.PATH)
            if not s.startswith(b"/"):
                _fail(Fault.BAD_VALUE, p)
            # The count after the payload's own checks, as the helper's decoder counts.
            lock_files = spec.setdefault("lock_files", [])
            if len(lock_files) >= Limit.LOCK_FILES:
                _fail(Fault.TOO_MANY, r)
            lock_files.append(_s(s))
        elif rtype == Record.CAPS:
            if length != 12:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            kept, cflags = struct.unpack_from("<QI", buf, p)
            if cflags & ~names.CAPS_LEAVE_SETS:
                _fail(Fault.UNKNOWN_BITS, p + 8)
            spec["caps"] = {"keep": [c for c in range(64) if kept >> c & 1],
                            "leave_sets": bool(cflags & names.CAPS_LEAVE_SETS)}
        elif rtype == Record.OPTIONS:
            if length != 8:
                _fail(Fault.BAD_RECORD_LENGTH, r + 4)
            (options,) = struct.unpack_from("<Q", buf, p)
            if options & ~names.OPTIONS_KNOWN:
                _fail(Fault.UNKNOWN_BITS, p)
            options_at = p
            for key, bit in names.OPTION_BITS.items():
                on = bool(options & bit)
                spec[key] = not on if key == "setsid" else on
        else:
            # A record type names.py lists that this decoder does not parse: refused, never
            # skipped (the helper parses every type it knows, so skipping would pass what it
            # refuses).
            _fail(Fault.UNKNOWN_RECORD, r)

    # 3. The whole spec.
    args = spec.get("args")
    if not args:
        _fail(Fault.MISSING_ARGS, total)
    has_exec = Record.EXEC_PATH in seen or Record.EXEC_FD in seen
    if args[0] == "" and not has_exec:
        _fail(Fault.MISSING_ARGS, total)
    if Record.EXEC_PATH in seen and Record.EXEC_FD in seen:
        _fail(Fault.CONFLICT, seen[Record.EXEC_PATH])
    if first_mount is not None and not clone_flags & names.CLONE_NEWNS:
        _fail(Fault.CONFLICT, first_mount)
    if Record.PIVOT_ROOT in seen and not clone_flags & names.CLONE_NEWNS:
        _fail(Fault.CONFLICT, seen[Record.PIVOT_ROOT])
    if host_domain_last is not None and not clone_flags & names.CLONE_NEWUTS:
        _fail(Fault.CONFLICT, host_domain_last)
    if Record.UID_MAP in seen and not clone_flags & names.CLONE_NEWUSER:
        _fail(Fault.CONFLICT, seen[Record.UID_MAP])
    if Record.GID_MAP in seen and not clone_flags & names.CLONE_NEWUSER:
        _fail(Fault.CONFLICT, seen[Record.GID_MAP])
    if options & names.OPT_CTTY and options & names.OPT_NO_SETSID:
        _fail(Fault.CONFLICT, options_at)
    if Record.CGROUP_PATH in seen and Record.CGROUP_FD in seen:
        _fail(Fault.CONFLICT, max(seen[Record.CGROUP_PATH], seen[Record.CGROUP_FD]))
    if options & names.OPT_DETACH and options & names.OPT_INIT:
        _fail(Fault.CONFLICT, options_at)
    if options & names.OPT_DUMPABLE_INIT and not options & names.OPT_INIT:
        _fail(Fault.CONFLICT, options_at)
    if options & names.OPT_NO_WAIT_INIT and not options & names.OPT_INIT:
        _fail(Fault.CONFLICT, options_at)
    # Locks and the sync fd are held by init.
    for held in (Record.LOCK_FILE, Record.SYNC_FD):
        if held in seen and not options & names.OPT_INIT:
            _fail(Fault.CONFLICT, seen[held])
    # Another process writes the id maps of the user namespace the spec creates.
    if Record.USERNS_BLOCK_FD in seen and (not clone_flags & names.CLONE_NEWUSER
                                          or uid_map is not None or gid_map is not None):
        _fail(Fault.CONFLICT, seen[Record.USERNS_BLOCK_FD])
    if options & names.OPT_WRITABLE_ROOT and Record.PIVOT_ROOT not in seen:
        _fail(Fault.CONFLICT, options_at)
    # The loopback interface brought up is the new network namespace's.
    if options & names.OPT_LOOPBACK and not clone_flags & names.CLONE_FLAGS["newnet"]:
        _fail(Fault.CONFLICT, options_at)
    # The exit code needs a helper that stays to see the end; a detached one exits at once.
    if Record.JSON_STATUS_FD in seen and options & names.OPT_DETACH:
        _fail(Fault.CONFLICT, seen[Record.JSON_STATUS_FD])
    join = spec.get("join_ns", {})
    if ("user" in join and clone_flags & names.CLONE_NEWUSER
            or "pid" in join and clone_flags & names.CLONE_NEWPID):
        _fail(Fault.CONFLICT, seen[Record.JOIN_NS])
    # A kept set and "drop every capability" contradict each other.
    if Record.CAPS in seen and options & names.OPT_DROP_CAPS:
        _fail(Fault.CONFLICT, seen[Record.CAPS])
    # A Landlock rule needs the LANDLOCK record, and only rights its ruleset handles: the
    # first such path rule, then the first such port rule.
    fs, net, scoped, lflags = landlock or (0, 0, 0, 0)
    for rules, handled in ((ll_paths, fs), (ll_ports, net)):
        for at_rule, access, _ in rules:
            if access & ~handled:
                _fail(Fault.CONFLICT, at_rule)
    # A mount operation's fd is used after the fd stage: the target's fd table must not
    # replace it.
    files = spec.get("files", [])
    block = spec.get("block_fd")
    if block is not None and block < len(files) and files[block] != block:
        _fail(Fault.CONFLICT, seen[Record.BLOCK_FD])
    for at_fd, fd in op_fds:
        if fd < len(files) and files[fd] != fd:
            _fail(Fault.CONFLICT, at_fd)
    # The limit is set in, and the nested user namespace made below, a new user namespace.
    if options & names.OPT_DISABLE_USERNS and not clone_flags & names.CLONE_NEWUSER:
        _fail(Fault.CONFLICT, options_at)
    if landlock is not None:
        spec["landlock"] = Landlock(
            exact=bool(lflags & names.LANDLOCK_EXACT),
            fs=[{"path": path, "access": _names_of(a, names.LANDLOCK_FS)}
                for _, a, path in ll_paths] if fs else None,
            net=[{"port": port, "access": _names_of(a, names.LANDLOCK_NET)}
                 for _, a, port in ll_ports] if net else None,
            scope=_names_of(scoped, names.LANDLOCK_SCOPES))

    if rlimits:
        spec["rlimits"] = rlimits
    if programs:
        spec["seccomp"] = programs[0] if len(programs) == 1 else programs
    if mounts:
        spec["mounts"] = mounts
    return Decoded(spec, seen, options_at, clone_flags, options, uid_map, gid_map,
                   joins_pid="pid" in spec.get("join_ns", {}))
