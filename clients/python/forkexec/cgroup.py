"""Per-run cgroups, made, limited, read, emptied and removed by the runtime, on cgroup v1, v2
and hybrid machines: the Python twin of the Rust client's ``forkexec_client::cgroup``
(docs/judge.md, "Cgroup v1, v2 and hybrid").

- v2: one directory; ``memory.max``, ``memory.swap.max`` = 0, ``pids.max``, ``cpu.max``;
  ``cpu.stat``, ``memory.peak``, ``memory.events``; placement by the helper (``cgroup_fd``);
  ``cgroup.kill``.
- v1: a directory in each of ``memory``, ``pids``, ``cpuacct``, ``freezer`` (``cpu`` for a
  quota); ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes``; placement by
  writing the helper's pid into each ``cgroup.procs`` before it gets the spec
  (``Runner(on_spawn=...)``); kill with the freezer.
- hybrid: the v1 directories, plus a v2 directory when the v2 tree is writable (placement,
  ``cgroup.kill``, ``cgroup.events``).
"""

import errno
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

MEMORY, PIDS, CPU, CPUACCT, FREEZER = "memory", "pids", "cpu", "cpuacct", "freezer"
DEFAULT_PARENT = "forkexec"
_CONTROLLERS = (MEMORY, PIDS, CPU, CPUACCT, FREEZER)
_seq = itertools.count()
_seq_lock = threading.Lock()


class CgroupError(OSError):
    """A cgroup could not be made or used; the message says what, where, and what to do."""


def _unescape(s: Any) -> Any:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) and all(c in "01234567" for c in s[i + 1:i + 4]):
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


@dataclass
class Layout:
    """The cgroup mounts: v1 controller -> mount point, the cgroup2 mount and its
    controllers."""

    v1: Dict[str, str]
    v2: Optional[str] = None
    v2_controllers: Tuple[str, ...] = ()

    @classmethod
    def from_mountinfo(cls, text: str) -> "Layout":
        """The layout /proc/self/mountinfo's ``text`` describes."""
        v1: Dict[str, str] = {}
        v2: Optional[str] = None
        for line in text.splitlines():
            left, sep, right = line.partition(" - ")
            if not sep:
                continue
            fields, rfields = left.split(" "), right.split(" ")
            if len(fields) < 5 or not rfields:
                continue
            mount_point = _unescape(fields[4])
            if rfields[0] == "cgroup2" and v2 is None:
                v2 = mount_point
            elif rfields[0] == "cgroup" and len(rfields) > 2:
                for option in rfields[2].split(","):
                    if option in _CONTROLLERS:
                        v1.setdefault(option, mount_point)
        return cls(v1, v2)

    @classmethod
    def detect(cls) -> "Layout":
        """This process's cgroup mounts."""
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            layout = cls.from_mountinfo(f.read())
        if layout.v2:
            try:
                with open(os.path.join(layout.v2, "cgroup.controllers")) as f:
                    layout.v2_controllers = tuple(f.read().split())
            except OSError:
                pass
        return layout

    @property
    def kind(self) -> Optional[str]:
        """``"v1"``, ``"v2"``, ``"hybrid"``, or ``None`` without a memory controller."""
        if MEMORY in self.v1:
            return "hybrid" if self.v2 else "v1"
        if self.v2 and MEMORY in self.v2_controllers:
            return "v2"
        return None

    def __str__(self) -> str:
        parts = [self.kind or "no memory controller"]
        parts += [f"{c} (v1) at {p}" for c, p in sorted(self.v1.items())]
        if self.v2:
            parts.append(f"cgroup2 at {self.v2} [{' '.join(self.v2_controllers)}]")
        return ", ".join(parts)


@dataclass
class Limits:
    """Limits on everything in the cgroup: memory in bytes (swap included), pids, CPU quota
    in CPUs. ``None`` is no limit."""

    memory: Optional[int] = None
    pids: Optional[int] = None
    cpu_quota: Optional[float] = None


@dataclass
class Usage:
    cpu: float = 0.0          # seconds, user + system
    memory_peak: int = 0      # bytes
    oom_kills: int = 0
    memory_limit_hits: int = 0
    pids_limit_hits: int = 0


def _io_error(what: Any, e: Any) -> Any:
    hint = ""
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = (f" (as uid {os.geteuid()}: a per-run cgroup needs root, or a delegated cgroup "
                "v2 subtree given with --cgroup-parent; without one, --no-cgroup runs with "
                "rlimits only: CPU time of each process, no memory or pids limit on the whole "
                "sandbox)")
    err = CgroupError(e.errno, f"{what}: {e.strerror}{hint}")
    return err


def _write(d: Any, name: Any, value: Any) -> Any:
    path = os.path.join(d, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)
    except OSError as e:
        raise _io_error(f"writing {str(value)!r} to {path}", e) from None


def _read(d: Any, name: Any) -> Any:
    try:
        with open(os.path.join(d, name)) as f:
            return f.read()
    except OSError:
        return None


def _read_int(d: Any, name: Any) -> Any:
    text = _read(d, name)
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _keyed(d: Any, name: Any, key: Any) -> Any:
    text = _read(d, name)
    if text is None:
        return None
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            try:
                return int(v.strip())
            except ValueError:
                return None
    return None


def _make_v2(root: Any, parent: Any, name: Any, controllers: Any) -> Any:
    enable = " ".join(f"+{c}" for c in controllers)

    def enable_here(d: Any) -> Any:
        if not controllers:
            return
        have = (_read(d, "cgroup.subtree_control") or "").split()
        if not all(c in have for c in controllers):
            _write(d, "cgroup.subtree_control", enable)

    d = root
    enable_here(d)
    for part in [p for p in parent.split("/") if p]:
        d = os.path.join(d, part)
        try:
            os.mkdir(d)
        except FileExistsError:
            pass
        except OSError as e:
            raise _io_error(f"creating {d}", e) from None
        enable_here(d)
    d = os.path.join(d, name)
    try:
        os.mkdir(d)
    except OSError as e:
        raise _io_error(f"creating {d}", e) from None
    return d


def place_into(dirs: Sequence[str], pid: int) -> None:
    """Writes ``pid`` into each directory's ``cgroup.procs`` (:class:`CgroupError` naming the
    file, and the fix when it is a permission)."""
    for d in dirs:
        _write(d, "cgroup.procs", pid)


class Cgroup:
    """One per-run cgroup: a directory in each hierarchy it uses. ``remove()`` (or leaving a
    ``with`` block) kills what is left in it and removes the directories."""

    def __init__(self, kind: str, v1: List[Tuple[List[str], str]], v2: Optional[str],
                 owned: bool = False) -> None:
        self.kind = kind
        self.v1 = v1          # list of ([controllers], directory)
        self.v2 = v2          # directory or None
        self.owned = owned
        self._base = Usage()
        # After a write to cgroup.kill this kernel (6.18) kills every process cloned into the
        # v2 directory with CLONE_INTO_CGROUP, so a reused cgroup is entered by cgroup.procs.
        self.v2_killed = False

    @classmethod
    def create(cls, layout: Layout, parent: str = DEFAULT_PARENT,
               limits: Optional[Limits] = None) -> "Cgroup":
        """Makes ``<mount>/<parent>/<unique name>`` in each hierarchy needed and sets
        ``limits``; on any error nothing is left behind."""
        limits = limits or Limits()
        kind = layout.kind
        if kind is None:
            raise CgroupError(errno.ENOENT, "no memory controller: neither a v1 memory hierarchy "
                              f"nor a cgroup2 tree that offers it ({layout})")
        with _seq_lock:
            name = f"run-{os.getpid()}-py{next(_seq)}"
        parent = parent.strip("/")
        cg = cls(kind, [], None, owned=True)
        try:
            if kind == "v2":
                wanted = [c for c in (MEMORY, PIDS, CPU) if c in layout.v2_controllers]
                cg.v2 = _make_v2(layout.v2, parent, name, wanted)
            else:
                wanted = [MEMORY, PIDS, CPUACCT, FREEZER] + ([CPU] if limits.cpu_quota else [])
                for c in wanted:
                    mount = layout.v1.get(c)
                    if mount is None:
                        if c in (MEMORY, CPUACCT) or (c == CPU and limits.cpu_quota):
                            raise CgroupError(errno.ENOENT, f"no v1 {c} hierarchy ({layout})")
                        if c == PIDS and limits.pids is not None:
                            raise CgroupError(errno.ENOENT,
                                              f"no pids controller for --pids-limit ({layout})")
                        continue
                    shared = [e for e in cg.v1 if e[1].startswith(mount + "/")]
                    if shared:
                        shared[0][0].append(c)
                        continue
                    d = os.path.join(mount, parent, name)
                    try:
                        os.makedirs(os.path.join(mount, parent), exist_ok=True)
                        os.mkdir(d)
                    except OSError as e:
                        raise _io_error(f"creating {d}", e) from None
                    cg.v1.append(([c], d))
                if kind == "hybrid" and layout.v2:
                    try:
                        cg.v2 = _make_v2(layout.v2, parent, name, [])
                    except CgroupError:
                        cg.v2 = None
            cg.set_limits(limits)
        except BaseException:
            cg.remove()
            raise
        cg._base = cg._raw_usage()
        return cg

    def __enter__(self) -> "Cgroup":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def dirs(self) -> List[str]:
        """Its directories, one per hierarchy."""
        return [d for _, d in self.v1] + ([self.v2] if self.v2 else [])

    def _dir(self, controller: Any) -> Any:
        if self.kind == "v2":
            return self.v2
        for cs, d in self.v1:
            if controller in cs:
                return d
        return None

    def set_limits(self, limits: Limits) -> None:
        if self.kind == "v2" and self.v2 is not None:
            d = self.v2
            _write(d, "memory.max", limits.memory if limits.memory is not None else "max")
            if os.path.exists(os.path.join(d, "memory.swap.max")):
                _write(d, "memory.swap.max", 0 if limits.memory is not None else "max")
            _write(d, "pids.max", limits.pids if limits.pids is not None else "max")
            if limits.cpu_quota or os.path.exists(os.path.join(d, "cpu.max")):
                quota = (f"{max(1000, round(limits.cpu_quota * 100000))} 100000"
                         if limits.cpu_quota else "max 100000")
                _write(d, "cpu.max", quota)
            return
        mem = self._dir(MEMORY)
        if mem:
            value = limits.memory if limits.memory is not None else -1
            if os.path.exists(os.path.join(mem, "memory.memsw.limit_in_bytes")):
                try:
                    _write(mem, "memory.limit_in_bytes", value)
                    _write(mem, "memory.memsw.limit_in_bytes", value)
                except CgroupError:
                    _write(mem, "memory.memsw.limit_in_bytes", value)
                    _write(mem, "memory.limit_in_bytes", value)
            else:
                _write(mem, "memory.limit_in_bytes", value)
        pids = self._dir(PIDS)
        if pids:
            _write(pids, "pids.max", limits.pids if limits.pids is not None else "max")
        cpu = self._dir(CPU)
        if cpu:
            _write(cpu, "cpu.cfs_period_us", 100000)
            _write(cpu, "cpu.cfs_quota_us",
                   max(1000, round(limits.cpu_quota * 100000)) if limits.cpu_quota else -1)

    def clone_into(self) -> Optional[str]:
        """The v2 directory for the helper's ``CLONE_INTO_CGROUP`` (``cgroup_fd``), unless
        :meth:`place` does it (after a ``cgroup.kill``)."""
        return None if self.v2_killed else self.v2

    def place_dirs(self) -> List[str]:
        """Where :meth:`place` writes a pid: every v1 directory, and the v2 one when
        :meth:`clone_into` does not name it."""
        return [d for _, d in self.v1] + ([self.v2] if self.v2 and self.v2_killed else [])

    def place(self, pid: int) -> None:
        """Moves ``pid`` into :meth:`place_dirs` (its future children follow)."""
        place_into(self.place_dirs(), pid)

    def _cpu_raw(self) -> float:
        if self.kind == "v2":
            return float((_keyed(self.v2, "cpu.stat", "usage_usec") or 0) / 1e6)
        d = self._dir(CPUACCT)
        return float((_read_int(d, "cpuacct.usage") or 0) / 1e9) if d else 0.0

    def cpu_time(self) -> float:
        return max(0.0, self._cpu_raw() - self._base.cpu)

    def _raw_usage(self) -> Any:
        cpu = self._cpu_raw()
        if self.kind == "v2":
            d = self.v2
            return Usage(cpu, _read_int(d, "memory.peak") or 0,
                         _keyed(d, "memory.events", "oom_kill") or 0,
                         _keyed(d, "memory.events", "max") or 0,
                         _keyed(d, "pids.events", "max") or 0)
        mem, pids = self._dir(MEMORY), self._dir(PIDS)
        peak = hits = ooms = 0
        if mem:
            peak = (_read_int(mem, "memory.memsw.max_usage_in_bytes")
                    or _read_int(mem, "memory.max_usage_in_bytes") or 0)
            ooms = _keyed(mem, "memory.oom_control", "oom_kill") or 0
            hits = max(_read_int(mem, "memory.failcnt") or 0,
                       _read_int(mem, "memory.memsw.failcnt") or 0)
        return Usage(cpu, peak, ooms, hits,
                     (_keyed(pids, "pids.events", "max") or 0) if pids else 0)

    def usage(self) -> Usage:
        """What the members used since the cgroup was made: it survives their kill."""
        raw, base = self._raw_usage(), self._base
        return Usage(max(0.0, raw.cpu - base.cpu), raw.memory_peak,
                     raw.oom_kills - base.oom_kills,
                     raw.memory_limit_hits - base.memory_limit_hits,
                     raw.pids_limit_hits - base.pids_limit_hits)

    def procs(self) -> List[int]:
        pids = set()
        for d in self.dirs():
            for line in (_read(d, "cgroup.procs") or "").split():
                pids.add(int(line))
        return sorted(pids)

    def is_empty(self) -> bool:
        if self.v2 and _keyed(self.v2, "cgroup.events", "populated"):
            return False
        return not self.procs()

    def _kill_pass(self) -> Any:
        for pid in self.procs():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def kill(self, timeout: float = 5.0) -> None:
        """Kills every member and waits until none is left: ``cgroup.kill`` on v2, the v1
        freezer (freeze, SIGKILL each, thaw), else SIGKILL passes."""
        if self.v2 and os.path.exists(os.path.join(self.v2, "cgroup.kill")):
            self.v2_killed = True
            _write(self.v2, "cgroup.kill", 1)
        elif self.kind != "v2" and self._dir(FREEZER):
            fz = self._dir(FREEZER)
            _write(fz, "freezer.state", "FROZEN")
            deadline = time.monotonic() + 1.0
            while (_read(fz, "freezer.state") or "").strip() != "FROZEN" \
                    and time.monotonic() < deadline:
                time.sleep(0.0002)
            self._kill_pass()
            _write(fz, "freezer.state", "THAWED")
        else:
            self._kill_pass()
        deadline = time.monotonic() + timeout
        while not self.is_empty():
            if time.monotonic() > deadline:
                raise CgroupError(errno.EBUSY, f"processes left in the cgroup: {self.procs()}")
            self._kill_pass()
            time.sleep(0.001)

    def remove(self) -> None:
        """Kills what is left and removes the directories (only those this object made)."""
        if not self.owned:
            return
        self.owned = False
        try:
            self.kill()
        except CgroupError:
            pass
        for d in self.dirs():
            deadline = time.monotonic() + 2.0
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno == errno.EBUSY and time.monotonic() < deadline:
                        time.sleep(0.001)
                        continue
                    break
