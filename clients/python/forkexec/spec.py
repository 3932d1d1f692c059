"""The spec model and its JSON form.

:class:`Spec` holds go-sandbox's ``Runner`` fields under their snake_case names (the JSON form
of docs/design.md, docs/json.md and docs/spec.md), plus forkexec's own ``exec_path``, ``setsid``, ``status_fd``,
``detach``, ``init``, ``die_with_parent``, ``cgroup``, ``cgroup_fd``, ``info_fd`` and
``json_status_fd``. Every key is optional;
unknown keys are refused with their key path. Defaults: everything empty / ``False`` / ``None``,
except ``setsid`` (``True``, a new session as in go-sandbox) and a mount's ``mkdir`` (``True``).

Strings may be ``str`` (written as UTF-8; lone surrogates from ``os.fsdecode`` become the bytes
they stand for) or ``bytes`` (written as they are). Empty ``work_dir``, ``pivot_root``,
``host_name``, ``domain_name`` and ``cgroup`` mean "not set", as in go-sandbox.

Values given to the constructors are checked and normalized (dicts become :class:`Mount`,
:class:`MountOp`, :class:`Rlimit`… objects, rlimit resource numbers become names, a mount
operation's mode gets its default); a bad one raises :class:`~forkexec.errors.JsonError` naming
its key path, like :meth:`Spec.from_json`.

A ``mounts`` entry is a raw mount (:class:`Mount`, go-sandbox's ``mount(2)`` parameters) or,
when it has a ``type``, a mount operation (:class:`MountOp`, wire record MOUNT_OP; build them
with :mod:`forkexec.mount_ops`). Both kinds share one list, and its order is the order the
helper follows and the index an error record names.
"""

import copy
import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union, cast

from . import names
from .errors import JsonError
from .names import RLIM_INFINITY

Str = Union[str, bytes]

_U8 = (0, 0xFF)
_U16 = (0, 0xFFFF)
_U32 = (0, 0xFFFF_FFFF)
_U64 = (0, 0xFFFF_FFFF_FFFF_FFFF)
_I32 = (-(1 << 31), (1 << 31) - 1)


@dataclass
class Rlimit:
    """One resource limit: ``resource`` by name (``"nofile"``) or number, soft ``cur`` and
    hard ``max`` (:data:`RLIM_INFINITY` for none)."""

    resource: Union[str, int]
    cur: int
    max: int

    def __post_init__(self) -> None:
        _fill(self, _rlimit(self, ""))


@dataclass
class SockFilter:
    """One classic BPF instruction (``struct sock_filter``)."""

    code: int
    jt: int
    jf: int
    k: int

    @classmethod
    def stmt(cls, code: int, k: int) -> "SockFilter":
        """``BPF_STMT(code, k)``."""
        return cls(code, 0, 0, k)

    @classmethod
    def jump(cls, code: int, k: int, jt: int, jf: int) -> "SockFilter":
        """``BPF_JUMP(code, k, jt, jf)``."""
        return cls(code, jt, jf, k)

    def __post_init__(self) -> None:
        _fill(self, _sock_filter(self, ""))


@dataclass(kw_only=True)
class Mount:
    """One mount (go-sandbox's ``mount.SyscallParams``). Empty strings are passed to
    ``mount(2)`` as NULL. With ``pivot_root`` the target is a path inside the new root."""

    source: Str = ""
    target: Str
    fstype: Str = ""
    flags: List[str] = field(default_factory=list)
    data: Str = ""
    #: create the target (and its missing parents) first
    mkdir: bool = True
    #: create the target as a file (``mknod``) rather than a directory, to bind a file
    file: bool = False

    def __post_init__(self) -> None:
        _fill(self, _mount(self, ""))

    @classmethod
    def bind(cls, source: Str, target: Str, read_only: bool = False) -> "Mount":
        """A bind mount as go-sandbox's ``WithBind`` makes it (``bind``, ``nosuid``,
        ``private``, ``rec``, plus ``rdonly``); ``file`` when ``source`` is not a directory."""
        flags = ["bind", "nosuid", "private", "rec"] + (["rdonly"] if read_only else [])
        is_file = os.path.exists(source) and not os.path.isdir(source)
        return cls(source=source, target=target, flags=flags, file=is_file)

    @classmethod
    def tmpfs(cls, target: Str, data: Str = "") -> "Mount":
        """A tmpfs as go-sandbox's ``WithTmpfs`` makes it (``nosuid``, ``noatime``, ``nodev``)."""
        return cls(source="tmpfs", target=target, fstype="tmpfs",
                   flags=["nosuid", "noatime", "nodev"], data=data)

    @classmethod
    def proc(cls, target: Str) -> "Mount":
        """A read-only proc (``nosuid``, ``nodev``, ``noexec``, ``rdonly``)."""
        return cls(source="proc", target=target, fstype="proc",
                   flags=["nosuid", "nodev", "noexec", "rdonly"])


@dataclass(kw_only=True)
class MountOp:
    """One mount operation (wire record MOUNT_OP): a common mount described by its ``type``
    rather than by ``MS_*`` flags. The fields are the keys of its JSON form; each type takes
    only some of them (:data:`MOUNT_OP_FIELDS`), and any other one given is refused.

    Targets are absolute paths, resolved inside the new root (``pivot_root``, else ``/``);
    missing parents (and the target itself) are created. Build them with the functions of
    :mod:`forkexec.mount_ops` (``bind``, ``ro_bind``, ``tmpfs``, ``file``…).

    - ``type``: ``bind``, ``tmpfs``, ``proc``, ``dev``, ``mqueue``, ``dir``, ``symlink``,
      ``file``, ``remount_ro``, ``mask``, ``overlay``, ``tmp_overlay``, ``ro_overlay`` or
      ``chmod``.
    - ``source``: a bind's source path, or a symlink's text. ``source_fd``: a bind's source as
      an fd of this process (instead of ``source``).
    - ``size``: a tmpfs's size in bytes (an integer, or a string such as ``"64m"``; 0 = the
      kernel default).
    - ``mode``: tmpfs, dir, file: an octal string (``"1777"``, ``"0755"``) or an integer taken
      as is (``0o755``), at most 0o7777; ``None`` = the type's default (dir 0o755, file
      0o644, tmpfs 0o755).
    - ``content``: a file's bytes (``str`` as UTF-8, ``bytes``, or in JSON a list of byte
      values; may hold NUL bytes; empty = none). ``content_fd``: an fd of this process the
      helper reads to its end for them instead.
    - ``lower`` (overlay, tmp_overlay, ro_overlay): the lower directories, absolute host
      paths, topmost first; ``upper`` (overlay): the host directory that takes the writes,
      ``work``: an empty directory on its filesystem for the kernel.
    - ``readonly`` (bind, tmpfs; a bind's submounts too), ``dev`` (bind: device nodes work),
      ``optional`` (bind: skip when the source is missing; mask: when the target is),
      ``cover`` (proc: bubblewrap's read-only covers over ``sys``, ``sysrq-trigger``, ``irq``
      and ``bus`` where the helper may write to them, the proc itself writable).
    """

    type: str
    source: Str = ""
    source_fd: Optional[int] = None
    target: Str
    #: after normalization an int or ``None``; an octal string is accepted
    mode: Optional[Union[int, str]] = None
    #: after normalization an int; a string such as ``"64m"`` is accepted
    size: Union[int, str] = 0
    content: Optional[Str] = None
    content_fd: Optional[int] = None
    lower: List[Str] = field(default_factory=list)
    upper: Str = ""
    work: Str = ""
    readonly: bool = False
    dev: bool = False
    optional: bool = False
    cover: bool = False

    def __post_init__(self) -> None:
        _fill(self, _mount_op(self, ""))

    def kind(self) -> int:
        """The MOUNT_OP kind number (``names.MOUNT_KINDS[type]``)."""
        return names.MOUNT_KINDS[self.type]


#: The fields each mount operation type takes besides ``type`` and ``target`` (from the kind
#: table, ``names.MOUNT_KIND_TABLE``).
MOUNT_OP_FIELDS = {name: k.keys for name, k in names.MOUNT_KIND_TABLE.items()}

#: The mode a mount operation gets when none is given (the types that take a mode).
MOUNT_OP_DEFAULT_MODE = {name: k.default_mode for name, k in names.MOUNT_KIND_TABLE.items()
                         if k.mode}


@dataclass
class IdMap:
    """One id map entry: ``size`` ids from ``host_id`` appear as ``container_id`` onwards."""

    container_id: int
    host_id: int
    size: int

    def __post_init__(self) -> None:
        _fill(self, _id_map(self, ""))


@dataclass
class Credential:
    """The user to become: setgroups (unless ``no_set_groups``), setgid, setuid."""

    uid: int
    gid: int
    groups: List[int] = field(default_factory=list)
    no_set_groups: bool = False

    def __post_init__(self) -> None:
        _fill(self, _credential(self, ""))


@dataclass
class JoinNs:
    """Existing namespaces to join (JSON key ``join_ns``; bubblewrap's ``--userns``,
    ``--pidns``, ``--userns2``): fds of the runtime open on ``/proc/PID/ns/user`` or
    ``…/pid``, ``None`` for none."""

    user: Optional[int] = None
    pid: Optional[int] = None
    user2: Optional[int] = None

    def __post_init__(self) -> None:
        _fill(self, _join_ns(self, ""))


@dataclass
class Caps:
    """The capabilities the target keeps (JSON key ``caps``; record CAPS, bubblewrap's
    ``--cap-add``/``--cap-drop``): ``keep`` lists capability numbers (0-63; ``CAP_KILL`` is
    5). Every other capability leaves the bounding set; the kept ones become the effective,
    permitted, inheritable and ambient sets, unless ``leave_sets`` (bubblewrap as uid 0
    without ``--cap-add``/``--cap-drop``) leaves the first three as they are."""

    keep: List[int] = field(default_factory=list)
    leave_sets: bool = False

    def __post_init__(self) -> None:
        _fill(self, _caps(self, ""))


@dataclass
class Landlock:
    """Landlock confinement (JSON key ``landlock``): ``fs`` rules (``{"path", "access"}``;
    ``None`` leaves the filesystem alone, a list, even empty, confines it), ``net`` rules
    (``{"port", "access"}``, likewise for TCP), ``scope`` names, and ``exact`` (refuse when the
    kernel lacks a requested right instead of using what it has)."""

    exact: bool = False
    fs: Optional[List[Dict[str, Any]]] = None
    net: Optional[List[Dict[str, Any]]] = None
    scope: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _fill(self, _landlock(self, ""))


@dataclass(kw_only=True)
class Spec:
    """A whole sandbox spec: what the helper does between being spawned and ``execve``."""

    #: the target's argv; ``args[0]`` is also the file executed (no PATH search)
    args: List[Str] = field(default_factory=list)
    #: the target's environment (``KEY=value``); empty = an empty environment
    env: List[Str] = field(default_factory=list)
    #: the file to execute when it is not ``args[0]``
    exec_path: Optional[Str] = None
    #: execute this fd of the runtime (``execveat(fd, "", AT_EMPTY_PATH)``)
    exec_file: Optional[int] = None
    rlimits: List[Rlimit] = field(default_factory=list)
    #: target fd ``i`` = the runtime's fd ``files[i]``, or closed for -1; empty keeps 0, 1, 2
    files: List[int] = field(default_factory=list)
    work_dir: Str = ""
    #: classic BPF filters loaded last before execve: one program (its instructions, or a
    #: shipped policy's name), or a list of programs loaded in order (each but the last must
    #: allow ``prctl``); ``None`` = no filter
    seccomp: Optional[Union[List[SockFilter], str, List[Union[List[SockFilter], str]]]] = None
    #: namespaces: ``newns``, ``newuts``, ``newipc``, ``newnet``, ``newcgroup``, ``newuser``,
    #: ``newpid``
    clone_flags: List[str] = field(default_factory=list)
    #: raw mounts (:class:`Mount`) and mount operations (:class:`MountOp`), in order
    mounts: List[Union[Mount, MountOp]] = field(default_factory=list)
    pivot_root: Str = ""
    host_name: Str = ""
    domain_name: Str = ""
    uid_mappings: List[IdMap] = field(default_factory=list)
    gid_mappings: List[IdMap] = field(default_factory=list)
    credential: Optional[Credential] = None
    sync: bool = False
    ptrace: bool = False
    no_new_privs: bool = False
    stop_before_seccomp: bool = False
    gid_mappings_enable_setgroups: bool = False
    drop_caps: bool = False
    unshare_cgroup_after_sync: bool = False
    ctty: bool = False
    setsid: bool = True
    #: write status records to this fd instead of the spec socket
    status_fd: Optional[int] = None
    #: clone shape with CLONE_PARENT: the target becomes the runtime's own child
    detach: bool = False
    #: the helper's minimal init runs the target: with ``newpid`` init is pid 1 and the target
    #: pid 2, without it init is the target's parent (it holds ``lock_files`` and ``sync_fd``)
    init: bool = False
    #: SIGKILL the helper and the target when the spawning thread exits
    die_with_parent: bool = False
    #: leave the new root (the tmpfs at ``pivot_root``) writable instead of read-only
    writable_root: bool = False
    #: a new anonymous session keyring for the target (KEYCTL_JOIN_SESSION_KEYRING)
    new_session_keyring: bool = False
    #: bubblewrap's modes for the parent directories mount operations make (0755 less the
    #: group's / others' bits where the operation's mode gives them none)
    parents_from_mode: bool = False
    #: clone shapes: no pid and no exec record, only the error or exit record, for a runtime
    #: that reads the stream once the helper has ended (:meth:`Runner.run` sets it)
    only_end_records: bool = False
    #: with ``init``: pid 1 drops its capabilities, takes the filter and becomes dumpable
    dumpable_init: bool = False
    #: with ``init``: the helper ends once init reports the target's end, not waiting for init
    no_wait_init: bool = False
    #: a failure exits 1 (not 125/126/127) in bubblewrap's words, as bubblewrap does
    bwrap_errors: bool = False
    #: ``lo`` up in the new network namespace (``newnet``), as bubblewrap's ``--unshare-net``:
    #: 127.0.0.1 and ::1 work inside; off by default (``lo`` stays down)
    loopback: bool = False
    #: in the new user namespace: the target cannot create user namespaces (a nested one
    #: uses up ``user.max_user_namespaces`` = 1)
    disable_userns: bool = False
    #: refuse the start if the target could create a user namespace
    assert_userns_disabled: bool = False
    #: a cgroup (v2) directory the target starts in
    cgroup: Str = ""
    #: the same, as an fd of the runtime open on the directory
    cgroup_fd: Optional[int] = None
    #: Landlock confinement (:class:`Landlock`)
    landlock: Optional[Landlock] = None
    #: an fd of the runtime for bubblewrap's ``--info-fd`` JSON (the target's pid and the ids
    #: of its new namespaces, once it is started)
    info_fd: Optional[int] = None
    #: an fd of the runtime for bubblewrap's ``--json-status-fd`` JSON lines (the start, then
    #: the exit code of a target that executed); the helper supervises the target
    json_status_fd: Optional[int] = None
    #: existing namespaces to join (:class:`JoinNs`)
    join_ns: Optional[JoinNs] = None
    #: absolute paths (inside the sandbox) init read-locks and holds while it lives
    #: (bubblewrap's ``--lock-file``; at most 8); needs ``init``
    lock_files: List[Str] = dataclasses.field(default_factory=list)
    #: an fd of the runtime init keeps open while it lives (bubblewrap's ``--sync-fd``); needs
    #: ``init``
    sync_fd: Optional[int] = None
    #: the capabilities the target keeps instead of ``drop_caps``'s none (:class:`Caps`)
    caps: Optional[Caps] = None
    #: an fd of the runtime the target reads a byte from (or EOF) before it runs
    #: (bubblewrap's ``--block-fd``)
    block_fd: Optional[int] = None
    #: an fd of the runtime the helper reads a byte from once the target's new user namespace
    #: exists, before it goes on; another process writes the maps (``--userns-block-fd``)
    userns_block_fd: Optional[int] = None

    def __post_init__(self) -> None:
        _fill(self, _spec(self, ""))

    @classmethod
    def from_json(cls, source: Union[str, bytes, bytearray, Dict[str, Any]]) -> "Spec":
        """Reads the JSON form from a ``str``/``bytes`` document or an already parsed dict.

        Unknown keys, wrong types and unknown names are refused with a :class:`JsonError`
        naming the key path, e.g. ``clone_flags[1]: unknown clone flag `newfoo`, expected one
        of: newns, …``."""
        if isinstance(source, (str, bytes, bytearray)):
            try:
                obj = json.loads(source, object_pairs_hook=_Object,
                                 parse_constant=_no_constant)
            except ValueError as e:
                raise JsonError("", f"not JSON: {e}") from None
        else:
            obj = source
        return _spec(obj, "")

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form as a dict, defaults left out (keys in the Rust client's order)."""
        return _spec_to_dict(self)

    def to_json(self, indent: Optional[int] = None) -> str:
        """The JSON form, defaults left out; compact unless ``indent`` is given."""
        seps = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.to_dict(), indent=indent, separators=seps, ensure_ascii=False)

    def copy(self) -> "Spec":
        """A deep copy."""
        return copy.deepcopy(self)

    def option_bits(self) -> int:
        """The OPTIONS record's bits for the booleans (``setsid=False`` is NO_SETSID)."""
        bits = 0
        for key, bit in names.OPTION_BITS.items():
            on = getattr(self, key)
            if on if key != "setsid" else not on:
                bits |= bit
        return bits

    def clone_flag_bits(self) -> int:
        """The CLONE_FLAGS record's bits: the OR of ``clone_flags``."""
        bits = 0
        for name in self.clone_flags:
            bits |= names.CLONE_FLAGS[name]
        return bits

    def stops_before_exec(self) -> bool:
        """Whether the helper stops itself (SIGSTOP) before exec to wait for a tracer:
        ``stop_before_seccomp``, implied by ``ptrace`` with a ``seccomp`` filter."""
        return self.stop_before_seccomp or (self.ptrace and self.seccomp is not None)


# --- checking and normalizing values (the JSON form and the constructors share this) ----------

_SPEC_KEYS = [f.name for f in dataclasses.fields(Spec)]
_BOOLS = ("sync", "ptrace", "no_new_privs", "stop_before_seccomp",
          "gid_mappings_enable_setgroups", "drop_caps", "unshare_cgroup_after_sync", "ctty",
          "setsid", "detach", "init", "die_with_parent", "writable_root",
          "new_session_keyring", "parents_from_mode", "only_end_records",
          "dumpable_init", "no_wait_init", "bwrap_errors", "loopback", "disable_userns",
          "assert_userns_disabled")


class _Object(Dict[str, Any]):
    """A parsed JSON object that remembers its pairs, duplicates included, in order."""

    def __init__(self, pairs: List[Tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


def _pairs(obj: Any) -> Any:
    return obj.pairs if isinstance(obj, _Object) else list(obj.items())


def _no_constant(name: Any) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _join(path: Any, key: Any) -> Any:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> Any:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, (str, bytes)):
        return f"string {value!r}"
    if isinstance(value, (list, tuple)):
        return "a sequence"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


def _bad_type(path: Any, value: Any, expected: Any) -> Any:
    return JsonError(path, f"invalid type: {_describe(value)}, expected {expected}")


def _int(value: Any, path: Any, bounds: Any, what: Any = "an integer") -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad_type(path, value, what)
    lo, hi = bounds
    if not lo <= value <= hi:
        raise JsonError(path, f"invalid value: integer `{value}`, expected {what} in {lo}..={hi}")
    return value


def _bool(value: Any, path: Any) -> Any:
    if not isinstance(value, bool):
        raise _bad_type(path, value, "a boolean")
    return value


def _str(value: Any, path: Any) -> Any:
    if isinstance(value, bytearray):
        value = bytes(value)
    if not isinstance(value, (str, bytes)):
        raise _bad_type(path, value, "a string")
    return value


def _list(value: Any, path: Any) -> Any:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        raise _bad_type(path, value, "a sequence")
    return list(value)


def _fields(obj: Any, path: Any, cls: Any, keys: Any, required: Any, aliases: Any = None,
            convert: Any = None) -> Any:
    """The fields of a nested object given as an instance of ``cls``, a dict (the JSON form)
    or a tuple of the fields in order: a dict key -> ``convert(key, value)``, in document
    order, refusing unknown, duplicate (``file`` and ``make_nod``) and missing keys."""
    aliases = aliases or {}
    convert = convert or (lambda key, value: value)
    if isinstance(obj, cls):
        return {k: convert(k, getattr(obj, k)) for k in keys}
    if isinstance(obj, (list, tuple)) and len(obj) == len(keys):
        return {k: convert(k, v) for k, v in zip(keys, obj)}
    if not isinstance(obj, dict):
        raise _bad_type(path, obj, f"a {cls.__name__} or a map")
    out = {}
    for key, value in _pairs(obj):
        name = aliases.get(key, key)
        if name not in keys:
            valid = ", ".join(f"`{k}`" for k in keys)
            raise JsonError(_join(path, key), f"unknown field `{key}`, expected one of {valid}")
        if name in out:
            raise JsonError(_join(path, key), f"duplicate field `{name}`")
        out[name] = convert(name, value)
    for key in required:
        if key not in out:
            raise JsonError(path, f"missing field `{key}`")
    return out


def _fill(instance: Any, normalized: Any) -> Any:
    """Copies a normalized instance's fields into ``instance`` (for ``__post_init__``)."""
    for f in dataclasses.fields(instance):
        object.__setattr__(instance, f.name, getattr(normalized, f.name))


def _make(cls: Any, values: Any) -> Any:
    """An instance of ``cls`` from already normalized values, without ``__post_init__``."""
    obj = object.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in values:
            value = values[f.name]
        elif f.default is not dataclasses.MISSING:
            value = f.default
        else:
            value = f.default_factory()  # type: ignore[misc]
        object.__setattr__(obj, f.name, value)
    return obj


def _name(value: Any, path: Any, table: Any, what: Any) -> Any:
    if not isinstance(value, str):
        raise _bad_type(path, value, f"a {what} name")
    if value not in table:
        raise JsonError(path, f"unknown {what} `{value}`, expected one of: {', '.join(table)}")
    return value


def _limit_value(value: Any, path: Any) -> Any:
    if isinstance(value, str):
        if value in ("infinity", "unlimited"):
            return RLIM_INFINITY
        raise JsonError(path, f"invalid value: string {value!r}, expected a non-negative "
                              'integer, "infinity" or "unlimited"')
    return _int(value, path, _U64, 'a non-negative integer, "infinity" or "unlimited"')


def _resource(value: Any, path: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < len(names.RESOURCES):
            raise JsonError(path, f"invalid value: integer `{value}`, expected an rlimit "
                                  f"resource name (one of: {', '.join(names.RESOURCES)})")
        return names.RESOURCES[value]
    return _name(value, path, names.RESOURCES, "rlimit resource")


def _convert(cls: Any, obj: Any, path: Any, converters: Any, required: Any, aliases: Any = None,
             defaults: Any = None) -> Any:
    """Checks and converts the fields of a nested object (an instance of ``cls``, a dict in
    the JSON form, or a tuple of the fields in order), in document order so that the first
    error reported is the first one in the document."""
    values = _fields(obj, path, cls, tuple(converters), required, aliases,
                     lambda key, value: converters[key](value, _join(path, key)))
    return _make(cls, {**(defaults or {}), **values})


def _rlimit(obj: Any, path: Any) -> Any:
    return _convert(Rlimit, obj, path, {
        "resource": _resource, "cur": _limit_value, "max": _limit_value,
    }, ("resource", "cur", "max"))


def _sock_filter(obj: Any, path: Any) -> Any:
    return _convert(SockFilter, obj, path, {
        "code": lambda v, p: _int(v, p, _U16),
        "jt": lambda v, p: _int(v, p, _U8),
        "jf": lambda v, p: _int(v, p, _U8),
        "k": lambda v, p: _int(v, p, _U32),
    }, ("code", "k"), defaults={"jt": 0, "jf": 0})


def _mount_flags(value: Any, path: Any) -> Any:
    return [_name(f, _join(path, i), names.MOUNT_FLAGS, "mount flag")
            for i, f in enumerate(_list(value, path))]


def _mount(obj: Any, path: Any) -> Any:
    return _convert(Mount, obj, path, {
        "source": _str, "target": _str, "fstype": _str, "flags": _mount_flags,
        "data": _str, "mkdir": _bool, "file": _bool,
    }, ("target",), aliases={"make_nod": "file"})


_MOUNT_OP_KEYS = ("type", "source", "source_fd", "target", "mode", "size", "content",
                  "content_fd", "lower", "upper", "work", "readonly", "dev", "optional",
                  "cover")
_RAW_MOUNT_KEYS = ("source", "target", "fstype", "flags", "data", "mkdir", "file", "make_nod")
_SIZE_SUFFIX = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _mount_type(value: Any, path: Any) -> Any:
    return _name(value, path, names.MOUNT_KINDS, "mount type")


def _op_fd(value: Any, path: Any) -> Any:
    """An fd of this process for a mount operation (an i32; checked to be 0 or more once the
    whole entry is read, since -1 on the wire means "no fd")."""
    return _i32(value, path)


def _mode(value: Any, path: Any) -> Any:
    """An octal string (``"1777"``, ``"0755"``) or an integer taken as is; at most 0o7777
    (permission bits, setuid, setgid, sticky)."""
    if isinstance(value, str):
        if not value or len(value) > 11 or any(c not in "01234567" for c in value):
            raise JsonError(path, f'`{value}` is not an octal mode such as "755" or "1777"')
        if int(value, 8) > names.Limit.MODE:
            raise JsonError(path, f"mode {value} is above 7777")
        return int(value, 8)
    value = _int(value, path, _U64, 'an octal mode string such as "755" or "1777", or an '
                                    "integer")
    if value > names.Limit.MODE:
        raise JsonError(path, f"mode {value} (octal {value:o}) is above 0o7777 (4095)")
    return value


def _size(value: Any, path: Any) -> Any:
    """Bytes: an integer, or a string of digits with an optional suffix k, m or g (1024-based,
    ``"64m"``)."""
    if isinstance(value, str):
        digits, scale = value, 1
        if value[-1:].lower() in _SIZE_SUFFIX:
            digits, scale = value[:-1], _SIZE_SUFFIX[value[-1].lower()]
        if not digits or not digits.isascii() or not digits.isdigit():
            raise JsonError(path, f"`{value}` is not a size: expected bytes, or a number with "
                                  'k, m or g ("64m")')
        if int(digits) * scale > _U64[1]:
            raise JsonError(path, f"size `{value}` is too large")
        return int(digits) * scale
    return _int(value, path, _U64, 'a size in bytes (an integer, or a string such as "64m")')


def _content(value: Any, path: Any) -> Any:
    """A string (UTF-8), bytes, or a list of byte values (how JSON carries non-UTF-8 bytes)."""
    if isinstance(value, bytearray):
        value = bytes(value)
    if isinstance(value, (list, tuple)):
        return bytes(_int(b, _join(path, i), _U8, "a byte value") for i, b in enumerate(value))
    if not isinstance(value, (str, bytes)):
        raise _bad_type(path, value, "a string or a list of byte values")
    return value


def _str_list(value: Any, path: Any) -> Any:
    """A list of strings (an overlay's lower directories)."""
    return [_str(s, _join(path, i)) for i, s in enumerate(_list(value, path))]


_MOUNT_OP_CONVERTERS = {
    "type": _mount_type, "source": _str, "source_fd": _op_fd, "target": _str, "size": _size,
    "mode": _mode, "content": _content, "content_fd": _op_fd, "readonly": _bool, "dev": _bool,
    "optional": _bool, "cover": _bool, "upper": _str, "work": _str, "lower": _str_list,
}


def _takes(kind: Any) -> Any:
    """``a bind takes `type`, `target`, `source`…``, for messages."""
    return f"a {kind} takes " + ", ".join(f"`{k}`" for k in ("type", "target")
                                          + MOUNT_OP_FIELDS[kind])


def _does_not_apply(path: Any, key: Any, kind: Any) -> Any:
    return JsonError(path, f"`{key}` does not apply to a {kind} mount operation "
                           f"({_takes(kind)})")


def _check_op(kind: Any, v: Any, path: Any) -> Any:
    """The rules between a mount operation's fields, as the Rust client's ``MountOp::check``
    words and orders them (the error names the entry): every field one the kind takes, a
    mode of at most 0o7777, fds of 0 or more, a bind with exactly one of ``source`` and
    ``source_fd``, a symlink with its text, a file with at most one of ``content`` and
    ``content_fd``. An empty ``source`` or ``content`` counts as none, as on the wire."""
    takes = MOUNT_OP_FIELDS[kind]
    source, content = v.get("source", ""), v.get("content")
    for key, on in (("readonly", v.get("readonly", False)), ("dev", v.get("dev", False)),
                    ("optional", v.get("optional", False)), ("cover", v.get("cover", False)),
                    ("mode", bool(v.get("mode"))),
                    ("size", bool(v.get("size"))), ("source_fd", v.get("source_fd") is not None),
                    ("content", bool(content)), ("content_fd", v.get("content_fd") is not None),
                    ("lower", bool(v.get("lower"))), ("upper", bool(v.get("upper"))),
                    ("work", bool(v.get("work")))):
        if on and key not in takes:
            raise _does_not_apply(path, key, kind)
    _check_layers(kind, v, path)
    if (v.get("mode") or 0) > names.Limit.MODE:
        raise JsonError(path, f"mode {v['mode']:o} is above 7777")
    for key in ("source_fd", "content_fd"):
        if v.get(key) is not None and v[key] < 0:
            raise JsonError(path, f"`{key}` must be an fd (0 or more), not {v[key]}")
    row = names.MOUNT_KIND_TABLE[kind]
    if row.source == "path_or_fd":
        if not source and v.get("source_fd") is None:
            raise JsonError(path, f"a {kind} needs `source` or `source_fd`")
        if source and v.get("source_fd") is not None:
            raise JsonError(path, f"a {kind} takes `source` or `source_fd`, not both")
    elif row.source == "text":
        if not source:
            raise JsonError(path, f"a {kind} needs `source` (the link's text)")
    elif source:
        raise _does_not_apply(path, "source", kind)
    if row.content and content and v.get("content_fd") is not None:
        raise JsonError(path, f"a {kind} takes `content` or `content_fd`, not both")


def _check_layers(kind: Any, v: Any, path: Any) -> None:
    """An overlay's layers, as the Rust client's ``MountOp::check`` words them: enough lower
    directories, upper and work when it takes them, every one an absolute path."""
    row = names.MOUNT_KIND_TABLE[kind]
    if not row.lower:
        return
    lower = v.get("lower") or []
    if len(lower) < row.lower:
        dirs = "directory" if row.lower == 1 else "directories"
        raise JsonError(path, f"the {kind} needs at least {row.lower} `lower` {dirs}, "
                              f"not {len(lower)}")
    if len(lower) > names.Limit.OVERLAY_LOWER:
        raise JsonError(path, f"the {kind} takes at most {names.Limit.OVERLAY_LOWER} `lower` "
                              f"directories, not {len(lower)}")
    if row.upper:
        for key in ("upper", "work"):
            if not v.get(key):
                raise JsonError(path, f"the {kind} needs `{key}` (a host directory)")
    layers = [(v[k], k) for k in ("upper", "work") if v.get(k)] + [(p, "lower") for p in lower]
    for p, key in layers:
        if not _b_path(p).startswith(b"/"):
            raise JsonError(path, f"`{key}` paths must be absolute (host paths), "
                                  f"not `{_json_str(p)}`")


def _b_path(p: Any) -> bytes:
    return p.encode("utf-8", "surrogateescape") if isinstance(p, str) else bytes(p)


def _finish_op(kind: Any, values: Any, path: Any) -> Any:
    """A normalized MountOp from converted values: checked, the type's default mode filled in
    (``None`` for the types without a mode), empty content dropped."""
    _check_op(kind, values, path)
    values["type"] = kind
    if kind == "chmod" and values.get("mode") is None:
        raise JsonError(path, 'a chmod mount operation needs a "mode" (it has no default)')
    if kind in MOUNT_OP_DEFAULT_MODE:
        if values.get("mode") is None:
            values["mode"] = MOUNT_OP_DEFAULT_MODE[kind]
    else:
        values["mode"] = None
    if not values.get("content"):
        values["content"] = None
    values["lower"] = list(values.get("lower") or [])
    return _make(MountOp, values)


def _mount_op(obj: Any, path: Any) -> Any:
    """A normalized MountOp from a MountOp (or a mount entry in the JSON form, with its
    ``type``)."""
    if not isinstance(obj, MountOp):
        if isinstance(obj, dict):
            entry = _mount_entry(obj, path)
            if isinstance(entry, MountOp):
                return entry
            raise JsonError(path, "missing field `type`")
        raise _bad_type(path, obj, "a MountOp or a map")
    kind = _mount_type(obj.type, _join(path, "type"))
    values = {}
    for key in _MOUNT_OP_KEYS[1:]:
        value = getattr(obj, key)
        if value is not None:
            values[key] = _MOUNT_OP_CONVERTERS[key](value, _join(path, key))
    return _finish_op(kind, values, path)


_RAW_MOUNT_CONVERTERS = {
    "source": _str, "target": _str, "fstype": _str, "flags": lambda v, p: _mount_flags(v, p),
    "data": _str, "mkdir": _bool, "file": _bool,
}


def _mount_entry_map(obj: Any, path: Any) -> Any:
    """A ``mounts`` entry in the JSON form, read as the Rust client reads it: keys in
    document order, each value checked as it comes; a raw mount unless a ``type`` makes it a
    mount operation, after which a key that type does not take is refused at once (one that
    came before ``type``, once the entry is read)."""
    kind = None
    seen = []  # keys as written, in order
    canonical = set()
    values = {}
    for key, value in _pairs(obj):
        name = "file" if key == "make_nod" else key
        if key not in _RAW_MOUNT_KEYS and key not in _MOUNT_OP_CONVERTERS:
            if kind is not None:
                raise JsonError(_join(path, key), f"unknown field `{key}`; {_takes(kind)}")
            valid = ", ".join(f"`{k}`" for k in _RAW_MOUNT_KEYS + ("type",))
            raise JsonError(_join(path, key), f"unknown field `{key}`, expected one of {valid}")
        if name in canonical:
            raise JsonError(_join(path, key), f"duplicate field `{name}`")
        if kind is not None and key not in ("type", "target") + MOUNT_OP_FIELDS[kind]:
            raise _does_not_apply(_join(path, key), key, kind)
        seen.append(key)
        canonical.add(name)
        convert = _MOUNT_OP_CONVERTERS.get(name) or _RAW_MOUNT_CONVERTERS[name]
        values[name] = convert(value, _join(path, key))
        if name == "type":
            kind = values["type"]
    if kind is None:
        for key in seen:
            if key not in _RAW_MOUNT_KEYS:
                raise JsonError(path, f"`{key}` is a key of mount operations, which need a "
                                      '"type" (one of: ' + ", ".join(names.MOUNT_KINDS) + ")")
        if "target" not in values:
            raise JsonError(path, "missing field `target`")
        return _make(Mount, values)
    for key in seen:
        if key not in ("type", "target") + MOUNT_OP_FIELDS[kind]:
            raise _does_not_apply(path, key, kind)
    if "target" not in values:
        raise JsonError(path, "missing field `target`")
    del values["type"]
    return _finish_op(kind, values, path)


def _mount_entry(obj: Any, path: Any) -> Any:
    """A ``mounts`` entry: a MountOp, a Mount (or its fields as a tuple), or a map in the
    JSON form (a mount operation when it has a ``type``)."""
    if isinstance(obj, MountOp):
        return _mount_op(obj, path)
    if isinstance(obj, dict) and not isinstance(obj, Mount):
        return _mount_entry_map(obj, path)
    return _mount(obj, path)


def _u32(value: Any, path: Any) -> Any:
    return _int(value, path, _U32)


def _id_map(obj: Any, path: Any) -> Any:
    return _convert(IdMap, obj, path, {"container_id": _u32, "host_id": _u32, "size": _u32},
                    ("container_id", "host_id", "size"))


def _join_ns(obj: Any, path: Any) -> Any:
    return _convert(JoinNs, obj, path, {
        "user": _optional(_i32), "pid": _optional(_i32), "user2": _optional(_i32),
    }, ())


def _caps(obj: Any, path: Any) -> Any:
    return _convert(Caps, obj, path, {
        "keep": lambda v, p: [_int(c, _join(p, i), (0, 63), "a capability number")
                              for i, c in enumerate(_list(v, p))],
        "leave_sets": _bool,
    }, ("keep",))


def _credential(obj: Any, path: Any) -> Any:
    return _convert(Credential, obj, path, {
        "uid": _u32, "gid": _u32,
        "groups": lambda v, p: [_u32(g, _join(p, i)) for i, g in enumerate(_list(v, p))],
        "no_set_groups": _bool,
    }, ("uid", "gid"))


def _landlock_names(table: Dict[str, int], groups: Dict[str, int], what: str) -> Any:
    def names_of(value: Any, path: Any) -> List[str]:
        out: List[str] = []
        for i, n in enumerate(_list(value, path)):
            n = _str(n, _join(path, i))
            if n not in table and n not in groups:
                valid = ", ".join(list(groups) + list(table))
                raise JsonError(_join(path, i), f"unknown Landlock {what} `{n}` ({valid})")
            out.append(n)
        return out
    return names_of


def _landlock_path(obj: Any, path: Any) -> Dict[str, Any]:
    if not isinstance(obj, dict):
        raise _bad_type(path, obj, "a Landlock path rule (path, access)")
    unknown = set(obj) - {"path", "access"}
    if unknown or "path" not in obj or "access" not in obj:
        raise JsonError(path, "a Landlock path rule has exactly `path` and `access`")
    return {"path": _str(obj["path"], _join(path, "path")),
            "access": _landlock_names(names.LANDLOCK_FS, names.LANDLOCK_FS_GROUPS,
                                      "filesystem right")(obj["access"], _join(path, "access"))}


def _landlock_port(obj: Any, path: Any) -> Dict[str, Any]:
    if not isinstance(obj, dict):
        raise _bad_type(path, obj, "a Landlock port rule (port, access)")
    unknown = set(obj) - {"port", "access"}
    if unknown or "port" not in obj or "access" not in obj:
        raise JsonError(path, "a Landlock port rule has exactly `port` and `access`")
    return {"port": _int(obj["port"], _join(path, "port"), _U16),
            "access": _landlock_names(names.LANDLOCK_NET, {}, "network right")(
                obj["access"], _join(path, "access"))}


def _landlock(obj: Any, path: Any) -> Any:
    return _convert(Landlock, obj, path, {
        "exact": _bool,
        "fs": _optional(_each(_landlock_path)),
        "net": _optional(_each(_landlock_port)),
        "scope": _landlock_names(names.LANDLOCK_SCOPES, {}, "scope"),
    }, ())


def _each(convert: Any) -> Any:
    def each(value: Any, path: Any) -> Any:
        return [convert(item, _join(path, i)) for i, item in enumerate(_list(value, path))]
    return each


def _is_program(item: Any) -> bool:
    """Whether an item of ``seccomp`` is a whole program (a policy name, or a list of
    instructions) rather than one instruction (a SockFilter, a dict, a tuple of 4 ints)."""
    if isinstance(item, str):
        return True
    if isinstance(item, (list, tuple)):
        return not item or not all(isinstance(x, int) for x in item)
    return False


def _seccomp(value: Any, path: Any) -> Any:
    """``seccomp``: one program, or a list of programs (one SECCOMP record each, loaded in
    order). One program normalizes to its list of instructions, several to a list of those."""
    if isinstance(value, (list, tuple)) and value and all(_is_program(v) for v in value):
        programs = [_program(v, _join(path, i)) for i, v in enumerate(value)]
        return programs[0] if len(programs) == 1 else programs
    return _program(value, path)


def _program(value: Any, path: Any) -> Any:
    """A seccomp program: a sequence of instructions, or the name of a shipped policy
    (``"judge"``, :mod:`forkexec.policies`), which becomes its compiled program."""
    if isinstance(value, str):
        from . import policies
        try:
            return policies.program(value)
        except ValueError as e:
            raise JsonError(path, str(e)) from None
    return _each(_sock_filter)(value, path)


def _optional(convert: Any) -> Any:
    def optional(value: Any, path: Any) -> Any:
        return None if value is None else convert(value, path)
    return optional


def _i32(value: Any, path: Any) -> Any:
    return _int(value, path, _I32)


def _clone_flag(value: Any, path: Any) -> Any:
    return _name(value, path, names.CLONE_FLAGS, "clone flag")


_SPEC_CONVERTERS = {
    "args": _each(_str),
    "env": _each(_str),
    "exec_path": _optional(_str),
    "exec_file": _optional(_i32),
    "rlimits": _each(_rlimit),
    "files": _each(_i32),
    "work_dir": _str,
    "seccomp": _optional(_seccomp),
    "clone_flags": _each(_clone_flag),
    "mounts": _each(_mount_entry),
    "pivot_root": _str,
    "host_name": _str,
    "domain_name": _str,
    "uid_mappings": _each(_id_map),
    "gid_mappings": _each(_id_map),
    "credential": _optional(_credential),
    "status_fd": _optional(_i32),
    "cgroup": _str,
    "cgroup_fd": _optional(_i32),
    "landlock": _optional(lambda v, p: _landlock(v, p)),
    "info_fd": _optional(_i32),
    "json_status_fd": _optional(_i32),
    "join_ns": _optional(_join_ns),
    "lock_files": _each(_str),
    "sync_fd": _optional(_i32),
    "caps": _optional(_caps),
    "block_fd": _optional(_i32),
    "userns_block_fd": _optional(_i32),
}
for _key in _BOOLS:
    _SPEC_CONVERTERS[_key] = _bool
assert set(_SPEC_CONVERTERS) == set(_SPEC_KEYS)


def _spec(obj: Any, path: str) -> "Spec":
    """A normalized Spec from a Spec or a dict (the JSON form), checked in document order."""
    if isinstance(obj, Spec):
        items = [(k, getattr(obj, k)) for k in _SPEC_KEYS]
    elif isinstance(obj, dict):
        items = _pairs(obj)
    else:
        raise _bad_type(path, obj, "a spec (a JSON object)")
    out = {}
    for key, value in items:
        convert = _SPEC_CONVERTERS.get(key)
        if convert is None:
            valid = ", ".join(f"`{k}`" for k in _SPEC_KEYS)
            raise JsonError(_join(path, key), f"unknown field `{key}`, expected one of {valid}")
        if key in out:
            raise JsonError(_join(path, key), f"duplicate field `{key}`")
        out[key] = convert(value, _join(path, key))
    spec: Spec = _make(Spec, out)
    return spec


# --- back to the JSON form ----------------------------------------------------------------------

def _json_str(s: Any) -> Any:
    return os.fsdecode(s) if isinstance(s, bytes) else s


def _limit_json(n: Any) -> Any:
    return "infinity" if n == RLIM_INFINITY else n


def _spec_to_dict(spec: "Spec") -> Dict[str, Any]:
    spec = _spec(spec, "")
    d: Dict[str, Any] = {}
    if spec.args:
        d["args"] = [_json_str(s) for s in spec.args]
    if spec.env:
        d["env"] = [_json_str(s) for s in spec.env]
    if spec.exec_path is not None:
        d["exec_path"] = _json_str(spec.exec_path)
    if spec.exec_file is not None:
        d["exec_file"] = spec.exec_file
    if spec.rlimits:
        d["rlimits"] = [{"resource": r.resource, "cur": _limit_json(r.cur),
                         "max": _limit_json(r.max)} for r in spec.rlimits]
    if spec.files:
        d["files"] = list(spec.files)
    if spec.work_dir:
        d["work_dir"] = _json_str(spec.work_dir)
    programs = []
    for program in seccomp_programs(spec):
        out = []
        for i in program:
            item: Dict[str, Any] = {"code": i.code}
            if i.jt:
                item["jt"] = i.jt
            if i.jf:
                item["jf"] = i.jf
            item["k"] = i.k
            out.append(item)
        programs.append(out)
    if programs:
        d["seccomp"] = programs[0] if len(programs) == 1 else programs
    if spec.clone_flags:
        d["clone_flags"] = list(spec.clone_flags)
    if spec.mounts:
        out = []
        for m in spec.mounts:
            if isinstance(m, MountOp):
                out.append(_mount_op_to_dict(m))
                continue
            item = {}
            if m.source:
                item["source"] = _json_str(m.source)
            item["target"] = _json_str(m.target)
            if m.fstype:
                item["fstype"] = _json_str(m.fstype)
            if m.flags:
                item["flags"] = list(m.flags)
            if m.data:
                item["data"] = _json_str(m.data)
            if not m.mkdir:
                item["mkdir"] = False
            if m.file:
                item["file"] = True
            out.append(item)
        d["mounts"] = out
    for key in ("pivot_root", "host_name", "domain_name"):
        if getattr(spec, key):
            d[key] = _json_str(getattr(spec, key))
    for key in ("uid_mappings", "gid_mappings"):
        if getattr(spec, key):
            d[key] = [dataclasses.asdict(m) for m in getattr(spec, key)]
    if spec.credential is not None:
        c = spec.credential
        item = {"uid": c.uid, "gid": c.gid}
        if c.groups:
            item["groups"] = list(c.groups)
        if c.no_set_groups:
            item["no_set_groups"] = True
        d["credential"] = item
    for key in ("sync", "ptrace", "no_new_privs", "stop_before_seccomp",
                "gid_mappings_enable_setgroups", "drop_caps", "unshare_cgroup_after_sync",
                "ctty"):
        if getattr(spec, key):
            d[key] = True
    if not spec.setsid:
        d["setsid"] = False
    if spec.status_fd is not None:
        d["status_fd"] = spec.status_fd
    for key in ("detach", "init", "die_with_parent", "writable_root", "new_session_keyring",
                "parents_from_mode", "only_end_records",
          "dumpable_init", "no_wait_init", "bwrap_errors", "loopback", "disable_userns",
          "assert_userns_disabled"):
        if getattr(spec, key):
            d[key] = True
    if spec.cgroup:
        d["cgroup"] = _json_str(spec.cgroup)
    if spec.cgroup_fd is not None:
        d["cgroup_fd"] = spec.cgroup_fd
    for key in ("info_fd", "json_status_fd"):
        if getattr(spec, key) is not None:
            d[key] = getattr(spec, key)
    if spec.join_ns is not None:
        j = spec.join_ns
        d["join_ns"] = {k: v for k, v in (("user", j.user), ("pid", j.pid), ("user2", j.user2))
                        if v is not None}
    if spec.caps is not None:
        d["caps"] = {"keep": list(spec.caps.keep)}
        if spec.caps.leave_sets:
            d["caps"]["leave_sets"] = True
    if spec.landlock is not None:
        ll = spec.landlock
        d["landlock"] = {k: v for k, v in (("exact", ll.exact), ("fs", ll.fs), ("net", ll.net),
                                           ("scope", ll.scope)) if v not in (False, None, [])
                         or (k in ("fs", "net") and v == [])}
    if spec.lock_files:
        d["lock_files"] = [_json_str(p) for p in spec.lock_files]
    for key in ("sync_fd", "block_fd", "userns_block_fd"):
        if getattr(spec, key) is not None:
            d[key] = getattr(spec, key)
    return d


def _mount_op_to_dict(m: Any) -> Any:
    """As the Rust client writes it: ``type`` first, then the fields away from their
    defaults; ``mode`` as a 4-digit octal string (left out at the type's default), ``content``
    as a string when it is UTF-8, else as a list of byte values."""
    item: Dict[str, Any] = {"type": m.type}
    if m.source:
        item["source"] = _json_str(m.source)
    if m.source_fd is not None:
        item["source_fd"] = m.source_fd
    item["target"] = _json_str(m.target)
    # A chmod's mode is always written: it has no default.
    if m.mode is not None and (m.mode != MOUNT_OP_DEFAULT_MODE.get(m.type, 0)
                               or m.type == "chmod"):
        item["mode"] = f"{m.mode:04o}"
    if m.size:
        item["size"] = m.size
    if m.content:
        raw = m.content.encode("utf-8", "surrogateescape") if isinstance(m.content, str) \
            else bytes(m.content)
        try:
            item["content"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            item["content"] = list(raw)
    if m.content_fd is not None:
        item["content_fd"] = m.content_fd
    if m.lower:
        item["lower"] = [_json_str(p) for p in m.lower]
    for key in ("upper", "work"):
        if getattr(m, key):
            item[key] = _json_str(getattr(m, key))
    for key in ("readonly", "dev", "optional", "cover"):
        if getattr(m, key):
            item[key] = True
    return item


def seccomp_programs(spec: Spec) -> List[List[SockFilter]]:
    """``spec.seccomp`` of a normalized spec as its programs in load order (a policy name
    given to the constructor has become its program): none, one, or several."""
    s = spec.seccomp
    if s is None:
        return []
    if isinstance(s, str) or any(isinstance(p, str) for p in s):
        raise TypeError("seccomp: a policy name in a spec that was not normalized")
    if s and all(isinstance(p, list) for p in s):
        return cast(List[List[SockFilter]], s)
    return [cast(List[SockFilter], s)]


def normalized(spec: "Spec") -> "Spec":
    """A checked, normalized copy of a :class:`Spec` (after its lists may have been changed in
    place, e.g. ``spec.mounts.append({...})``)."""
    return _spec(spec, "")
