"""The fork server and warm sandboxes (docs/spec.md "Fork server", docs/python.md).

:class:`Server` starts the helper once (``forkexec --serve N``) and runs one program per
:meth:`Server.run`: a fresh process forked by the server runs the same chain a one-shot helper
runs. :class:`Sandbox` builds a sandbox's namespaces, id maps, root and mounts once, with a fork
server inside; each :meth:`Sandbox.run` is a fresh process in its own user, pid (with init: a
daemon it forks dies with it), mount and ipc namespaces, with a fresh tmpfs on each writable
place, its own proc, a new session keyring and every capability dropped; the sandbox's other
mounts are read-only. :class:`Pool` spreads runs over several sandboxes. The Rust client's
``Server``, ``Sandbox`` and ``Pool`` work the same way (docs/design.md, "Warm sandboxes").

A sandbox's run in a per-run cgroup (:meth:`Sandbox.run_in`): the sandbox's helper sees neither
the host's cgroup tree nor its pids, so this process moves the run in at its sync point. The
run's channel has ``SO_PASSCRED``, so the kernel gives the sync record's sender (the program,
stopped before its ``execve``) as a pid of our pid namespace; its ``NSpid`` is checked against
the sync record's pid, and it and its parent (the run's init; in a shared-namespace sandbox,
without init, the program alone: its parent is the sandbox's server) are written into each
``cgroup.procs`` before the answer lets the program go on.
"""

import _socket
import errno
import math
import os
import select
import signal
import socket
import struct
import subprocess
import threading
from typing import Any, Callable, List, Optional, Sequence, Tuple

from . import mount_ops, shared, wire
from .cgroup import Cgroup, place_into
from .errors import ChildError, HelperError, SyncError
from .process import Rusage, WaitStatus
from .runner import Runner, _checked_fds
from .spec import IdMap, Spec, normalized
from .status import (ErrorRecord, ExecRecord, ExitRecord, PidRecord, Record, SyncRecord,
                     decode_record)

__all__ = ["Pool", "REQUEST_MAGIC", "REQUEST_MAX_FDS", "Sandbox", "SandboxBusy",
           "ServedProcess", "Server", "request"]

SandboxBusy = shared.SandboxBusy

#: ``"FXRQ"``: the first bytes of a request (crates/spec/src/serve.rs).
REQUEST_MAGIC = b"FXRQ"
#: The most fds one request carries, the run channel included (``SCM_MAX_FD``).
REQUEST_MAX_FDS = 253
_RECORD_LEN = 32
_SYNC_CONTINUE = b"\x00"
_SYNC_ABORT = b"\x01"
# Room for one SCM_CREDENTIALS message (struct ucred: pid, uid, gid).
_CRED_SPACE = socket.CMSG_SPACE(struct.calcsize("=iII"))


def request(numbers: Sequence[int]) -> bytes:
    """The request bytes for fds placed at ``numbers`` (the run channel not counted)."""
    if len(numbers) >= REQUEST_MAX_FDS:
        raise HelperError(f"more fds than one request carries ({REQUEST_MAX_FDS - 1})")
    return REQUEST_MAGIC + struct.pack(f"<I{len(numbers)}I", len(numbers), *numbers)


def _status_of(pid: int) -> Optional[Tuple[int, List[int]]]:
    """``PPid`` and ``NSpid`` of ``/proc/PID/status`` (None once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    ppid: Optional[int] = None
    nspid: List[int] = []
    for line in text.splitlines():
        if line.startswith("PPid:"):
            ppid = int(line.split()[1])
        elif line.startswith("NSpid:"):
            nspid = [int(n) for n in line.split()[1:]]
    return None if ppid is None or not nspid else (ppid, nspid)


def _members(helper: int) -> List[Tuple[int, List[int]]]:
    """``helper`` and every process descended from it: each one's pid here and ``NSpid``."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            found = _status_of(int(name))
            if found is not None:
                table[int(name)] = found
    family, grew = {helper}, True
    while grew:
        grew = False
        for pid, (ppid, _) in table.items():
            if ppid in family and pid not in family:
                family.add(pid)
                grew = True
    return [(pid, table[pid][1]) for pid in sorted(family) if pid in table]


class _SandboxPids:
    """Where a sandbox's pids are in our pid namespace: the helper that built it (every
    process of the sandbox descends from it), and the index in ``NSpid`` (the pid in each pid
    namespace, ours first) of the sandbox's own pid namespace."""

    def __init__(self, helper: int) -> None:
        self.helper = helper
        # Made once the server runs: the deepest NSpid of the sandbox is in its namespace.
        self.level = max((len(nspid) - 1 for _, nspid in _members(helper)), default=0)

    def pidfd(self, pid: int) -> int:
        """A pidfd on the sandbox's process whose pid in the sandbox is ``pid``: found among
        the helper's descendants, opened, and checked again (a pid reused meanwhile has
        another ``NSpid``). :class:`ProcessLookupError` when there is none."""
        def here(nspid: List[int]) -> bool:
            return len(nspid) > self.level and nspid[self.level] == pid

        for host, nspid in _members(self.helper):
            if host != self.helper and here(nspid):
                fd = os.pidfd_open(host)
                now = _status_of(host)
                if now is not None and here(now[1]):
                    return fd
                os.close(fd)
                break
        raise ProcessLookupError(errno.ESRCH, f"no process {pid} in the sandbox")


class _Placement:
    """The cgroup directories (host paths) a sandbox's run is moved into at its sync point."""

    def __init__(self, dirs: Sequence[str]) -> None:
        self.dirs = list(dirs)

    def apply(self, sender: Optional[int], inner: int, init: bool) -> None:
        """Moves the sync record's sender (``sender``, its pid here), and with ``init`` its
        parent, into every directory. ``inner``: the sync record's pid, which the sender's
        last ``NSpid`` must be. Raises what :class:`SyncError` then carries."""
        if sender is None:
            raise RuntimeError("the run's sync record came without its sender's credentials")
        found = _status_of(sender)
        if found is None:
            raise RuntimeError(f"the run's target (pid {sender}) is gone")
        ppid, nspid = found
        if nspid[-1] != inner:
            raise RuntimeError(f"pid {sender} (NSpid {nspid}) did not send the sync record "
                               f"of pid {inner}")
        try:
            for pid in ([ppid, sender] if init else [sender]):
                place_into(self.dirs, pid)
        except OSError as e:
            raise RuntimeError(f"placing the run in its cgroup: {e}") from e


class ServedProcess:
    """A program started by a :class:`Server` or a :class:`Sandbox`. ``wait()`` returns the
    same :class:`WaitStatus` as :meth:`forkexec.Process.wait` (from the exit record).
    :meth:`close` (or garbage collection) before ``wait`` makes the server kill the run."""

    def __init__(self, channel: _socket.socket, sandbox: Optional[_SandboxPids] = None,
                 place: Optional[Tuple[_Placement, bool]] = None) -> None:
        self._channel = channel
        self._sandbox = sandbox
        # The run's cgroups and whether it has init, until its sync point.
        self._place = place
        #: The target's pid as the server sees it (a sandbox's run: the pid in the sandbox).
        self.pid = 0
        self._status: Optional[WaitStatus] = None
        # A shared sandbox's run: frees the sandbox once the run's end was read (or closed).
        self._on_end: Optional[Callable[[], None]] = None

    def _ended(self) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()

    def _read(self, data: bytes = b"") -> Optional[Record]:
        """The next record (``data``: its first bytes, already read), None at end of stream."""
        while len(data) < _RECORD_LEN:
            try:
                chunk = self._channel.recv(_RECORD_LEN - len(data))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if data:
                    raise HelperError(f"status: {len(data)}-byte record")
                return None
            data += chunk
        return decode_record(data)

    def _read_from(self) -> Tuple[Optional[Record], Optional[int]]:
        """The next record, and (with a placement to do) the pid of its sender: a stream
        socket with ``SO_PASSCRED`` never joins two senders' bytes in one read."""
        if self._place is None:
            return self._read(), None
        try:
            data, ancillary, _, _ = self._channel.recvmsg(_RECORD_LEN, _CRED_SPACE)
        except ConnectionResetError:
            data, ancillary = b"", []
        sender = None
        for level, kind, cred in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS \
                    and len(cred) >= 4:
                sender = struct.unpack_from("=i", cred)[0] or None
        return (self._read(data) if data else None), sender

    def _start(self, spec_bytes: bytes, sync_func: Optional[Callable[[int], object]]) -> None:
        try:
            self._channel.sendall(spec_bytes)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the run went away early: its error record says why
        while True:
            rec, sender = self._read_from()
            if rec is None:
                raise HelperError("the fork server closed the run's channel before it executed")
            if isinstance(rec, ErrorRecord):
                raise ChildError.from_record(rec)
            if isinstance(rec, PidRecord):
                self.pid = rec.pid
            elif isinstance(rec, SyncRecord):
                place, self._place = self._place, None
                try:
                    if place is not None:
                        place[0].apply(sender, rec.pid, place[1])
                    if sync_func is not None:
                        sync_func(self.pid or rec.pid)
                except Exception as e:
                    try:
                        self._channel.sendall(_SYNC_ABORT)
                    except OSError:
                        pass
                    raise SyncError(e) from e
                self._channel.sendall(_SYNC_CONTINUE)
            elif isinstance(rec, ExecRecord):
                self.pid = rec.pid
                if self._place is not None:
                    # Never a run without its cgroup: the caller kills it (close).
                    raise HelperError("the run executed without its sync point, so it was not "
                                      "placed in its cgroup")
                return
            elif isinstance(rec, ExitRecord):
                raise HelperError("the fork server reported an exit before the exec")

    def wait(self) -> WaitStatus:
        """Waits for the program to end: its wait status and rusage (from the exit record).
        Waiting again returns the same status."""
        if self._status is not None:
            return self._status
        while True:
            rec = self._read()
            if rec is None:
                raise HelperError("the run's channel ended without an exit record")
            if isinstance(rec, ExitRecord):
                self._status = WaitStatus(rec.status, Rusage.from_exit_record(rec))
                self._channel.close()
                self._ended()  # a shared sandbox cleaned up before this record: it is free
                return self._status

    def wait_timeout(self, timeout: float) -> Optional[WaitStatus]:
        """Like :meth:`wait`, but ``None`` if the program is still running after ``timeout``
        seconds."""
        if self._status is None:
            poller = select.poll()
            poller.register(self._channel.fileno(), select.POLLIN)
            if not poller.poll(max(0, math.ceil(timeout * 1000))):
                return None
        return self.wait()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Sends ``sig`` to the program. For a sandbox's run :attr:`pid` is the sandbox's: the
        process is found by it (its ``NSpid`` under the sandbox's helper) and signalled through
        a pidfd; the run's init passes the signal on to the program (SIGKILL ends the init, and
        with it every process of the run), and the sandbox serves on. Raises
        :class:`ProcessLookupError` once waited for, or when the run has ended."""
        if self._status is not None or not self.pid:
            raise ProcessLookupError("process already waited for")
        if self._sandbox is None:
            os.kill(self.pid, sig)
            return
        fd = self._sandbox.pidfd(self.pid)
        try:
            signal.pidfd_send_signal(fd, sig)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Closes the run's channel: a run still going is killed by the server."""
        self._channel.close()
        self._ended()

    def __enter__(self) -> "ServedProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self._channel.close()
        self._ended()


def _run(sock: socket.socket, runner: Runner, sandbox: Optional[_SandboxPids] = None,
         derive: Optional[Callable[[Spec], Spec]] = None, context: Any = None,
         place: Optional[_Placement] = None) -> ServedProcess:
    """One run on the fork server at ``sock``: the request, the spec, the records up to the
    exec. ``sandbox``: a sandbox's server (its pids are not ours); ``derive(spec)``: the spec
    the server gets, made from (a copy of) the runner's; ``context``: everything else
    ``derive`` reads; ``place``: the run is moved into these cgroups at its sync point (the
    spec then has ``sync``, and no ``cgroup`` path: the path is the host's, in ``place``).
    The runner keeps the encoded result (``Runner._kept_encoding``; whether the run is placed
    is part of its key), so a run of an unchanged runner only checks its fds, makes the
    channel, sends the request and the spec, and reads the records."""
    placed = place is not None
    encoded = runner._kept_encoding(  # pylint: disable=protected-access
        2, (context, placed), _served_spec, runner, derive, placed)
    if encoded.shape == "detach":
        raise HelperError("detach: the target would be the fork server's child")
    fds = _checked_fds(encoded.fds)
    # Close-on-exec (PEP 446); _socket's objects, without socket.socket's Python wrapper.
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        if place is not None:
            # Each record comes with its sender's credentials: the sync record's is the
            # program's pid here.
            ours.setsockopt(_socket.SOL_SOCKET, _socket.SO_PASSCRED, 1)
        socket.send_fds(sock, [request(fds)], [theirs.fileno(), *fds])
    except OSError as e:
        ours.close()
        raise HelperError(f"sending the request to the fork server: {e}") from e
    finally:
        theirs.close()
    run = ServedProcess(ours, sandbox, None if place is None else (place, encoded.spec.init))
    try:
        run._start(encoded.data, runner.sync_func)  # pylint: disable=protected-access
    except BaseException:
        run.close()
        raise
    return run


def _served_spec(runner: Runner, derive: Optional[Callable[[Spec], Spec]],
                 placed: bool = False) -> Spec:
    """The normalized spec a served run sends (``derive``'s, when given), checked for what a
    served run refuses before it is encoded. ``placed``: this process moves the run into its
    cgroup at its sync point (a ``cgroup`` path is the host's: it is not sent)."""
    spec: Spec = runner.spec
    if placed and spec.cgroup:
        spec = spec.copy()
        spec.cgroup = ""
    if derive is not None:
        spec = derive(spec)
    spec = normalized(spec)
    if runner.sync_func is not None or placed:
        spec.sync = True
    if spec.status_fd is not None:
        raise HelperError("status_fd: a served run's records go on its own channel")
    return spec


def _end(sock: socket.socket) -> None:
    """End of stream on a server's socket: the server kills its runs and exits."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class Server:
    """The helper started once as a fork server (``forkexec --serve N``). :meth:`shutdown`
    (or leaving a ``with`` block) ends it: every run still going is killed."""

    def __init__(self, helper: Optional[str] = None) -> None:
        path = helper or Runner().find_helper()
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc: "subprocess.Popen[bytes]" = subprocess.Popen(
                [path, "--serve", str(theirs.fileno())], pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        except OSError as e:
            self._sock.close()
            raise HelperError(f"cannot run {path}: {e}") from e
        finally:
            theirs.close()

    @property
    def pid(self) -> int:
        """The server's pid."""
        return self._proc.pid

    def run(self, runner: Runner) -> ServedProcess:
        """Runs ``runner``'s spec in a process forked by the server; returns once it executed.
        Raises :class:`ChildError`, :class:`SpecError`, :class:`SyncError` or
        :class:`HelperError` as :meth:`Runner.start` does; ``detach`` and ``status_fd`` are
        refused. Safe to call from several threads at once."""
        return _run(self._sock, runner)

    def shutdown(self) -> int:
        """Ends the server and returns its exit status."""
        _end(self._sock)
        return self._proc.wait()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _identity(maps: Sequence[IdMap]) -> List[IdMap]:
    """Every id a user namespace with ``maps`` has, mapped to itself (all ids without maps)."""
    if not maps:
        return [IdMap(0, 0, 0xFFFF_FFFF)]
    return [IdMap(m.container_id, m.container_id, m.size) for m in maps]


class Sandbox:
    """A warm sandbox. ``shape`` is a :class:`Runner` whose namespaces, id maps, root, mounts
    and host name describe it; it is built once, with a fork server inside (the shape's args,
    env and files are replaced). Each ``writable`` directory (``/tmp``, a work dir) is a fresh
    empty tmpfs for every run; ``proc`` is where each run gets its own proc. Every other mount
    of the sandbox is read-only (unless the shape sets ``writable_root``). A credential,
    ``drop_caps``, seccomp, Landlock, ``detach``, ``sync`` (a sync callback) or ``status_fd`` in
    ``shape`` are refused (:class:`HelperError`): they belong to each run.

    ``shared_namespaces=True`` asks by name for the cheaper model (docs/design.md, "Shared
    namespaces"): each run is forked straight into the sandbox's namespaces, one at a time
    (a second :meth:`run` while one is going raises :class:`SandboxBusy`); when a run's program
    has ended the server (pid 1 of the sandbox's pid namespace, added when the shape has none)
    kills every other process there and mounts a fresh tmpfs on each writable place, before the
    run's exit record. Shared by the runs and not reset: SysV ipc (a run may ask for its own
    ``newipc``), the user keyring of each uid, the network namespace, the host name."""

    def __init__(self, shape: Runner, writable: Sequence[str] = (),
                 proc: str = "/proc", shared_namespaces: bool = False) -> None:
        spec: Spec = shape._spec()  # pylint: disable=protected-access
        for set_, what in [(spec.credential is not None, "credential"),
                           (spec.drop_caps, "drop_caps"), (spec.seccomp is not None, "seccomp"),
                           (spec.landlock is not None, "landlock"), (spec.detach, "detach"),
                           (spec.status_fd is not None, "status_fd"), (spec.sync, "sync")]:
            if set_:
                raise HelperError(f"{what}: a pooled sandbox's runs take it, not the sandbox")
        self._writable = list(writable)
        self._busy = shared.Busy() if shared_namespaces else None
        if shared_namespaces:
            shared.check_places(self._writable)
        self._proc_dir = proc
        self._uid_map = _identity(spec.uid_mappings)
        self._gid_map = _identity(spec.gid_mappings)
        # What _served reads of the sandbox (a run's kept encoding holds while it is equal).
        self._context = ("shared" if shared_namespaces else "sandbox", tuple(self._writable),
                         proc, tuple(self._uid_map), tuple(self._gid_map))
        helper = shape.find_helper()
        mounts: List[Any] = list(spec.mounts)
        if shared_namespaces:
            mounts += shared.place_dirs(self._writable)
        else:
            mounts += [mount_ops.tmpfs(d, mode=0o1777) for d in self._writable]
        mounts.append(mount_ops.dir(proc))
        if not spec.writable_root:
            # Every mount of the sandbox read-only: a run's fresh tmpfs on the writable places
            # are the only places it can leave a file in.
            mounts.append(mount_ops.remount_ro("/"))
        # After the remount: the server writes each run's id maps through it.
        mounts.append(mount_ops.proc(proc))
        if shared_namespaces:
            mounts += shared.first_tmpfs(self._writable)
        exe = os.open(helper, os.O_RDONLY | os.O_CLOEXEC)
        null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            spec.args = ["forkexec", "--serve", "3"]
            spec.env = []
            spec.exec_path = None
            spec.exec_file = exe
            spec.files = [null, null, 2, theirs.fileno()]
            spec.die_with_parent = True
            spec.sync = False
            if shared_namespaces:
                shared.shape(spec, self._writable)
            elif "newpid" in spec.clone_flags:
                spec.init = True  # orphans of the sandbox go to its init, not to the server
            spec.mounts = mounts
            self._process = Runner(spec, helper=helper).start()
            # The server runs: the deepest of the sandbox's processes is in its pid namespace.
            self._pids = _SandboxPids(self._process.pid)
        except BaseException:
            self._sock.close()
            raise
        finally:
            os.close(exe)
            os.close(null)
            theirs.close()

    @property
    def pid(self) -> int:
        """The pid of the helper that built the sandbox."""
        return self._process.pid

    def run(self, runner: Runner) -> ServedProcess:
        """Runs one program in the sandbox: its own user (the runner's id maps if it has a
        ``newuser`` of its own, else every id of the sandbox mapped to itself), pid (with init),
        mount and ipc namespaces, fresh writable places and proc, a new session keyring, no
        capability; the runner's args, env, files, work dir, rlimits, cgroup, seccomp and
        Landlock. A ``cgroup`` path is the host's: the run is moved into it as
        :meth:`run_in` does (the sandbox does not see the host's cgroup tree); a
        ``cgroup_fd`` (a v2 directory) is one the run's helper clones it into. ``pivot_root``
        is refused. The returned process's :attr:`~ServedProcess.pid` is the one in the
        sandbox (its ``kill`` finds the process by it). Safe to call from several threads at
        once (up to 64 runs at once per sandbox).

        In a shared-namespace sandbox the run gets no namespace of its own (it may ask for
        ``newipc``, ``newnet``, and ``newns`` for mounts of its own), and a second run while
        one is going raises :class:`SandboxBusy`."""
        path = runner.spec.cgroup
        return self._start(runner, _Placement([str(path)]) if path else None)

    def run_in(self, runner: Runner, cgroup: Cgroup) -> ServedProcess:
        """:meth:`run` in a per-run cgroup (:class:`forkexec.cgroup.Cgroup`): the run's init
        and program (in a shared-namespace sandbox, which has no per-run init: its program)
        are moved into every directory of ``cgroup`` (``cgroup.procs``, by this process, with
        our pids) before the program executes, at the run's sync point, so its memory, pids
        and CPU limits hold from its first instruction and its usage is the run's alone. The
        sandbox's server and the run's helper stay where they are. The caller owns the
        cgroup: one per run (or one emptied between runs), removed when done. A move this
        process may not make (an ordinary user without a delegated cgroup) raises
        :class:`SyncError` naming the file and the fix; the program never runs. A runner with
        a ``cgroup`` path of its own is refused (:class:`HelperError`)."""
        if runner.spec.cgroup:
            raise HelperError("cgroup: run_in places the run in its cgroup; the runner's own "
                              "cgroup path would be a second one")
        return self._start(runner, _Placement(cgroup.dirs()))

    def _start(self, runner: Runner, place: Optional[_Placement]) -> ServedProcess:
        if self._busy is not None:
            return self._run_shared(runner, place)
        return _run(self._sock, runner, self._pids, derive=self._served,
                    context=self._context, place=place)

    def _run_shared(self, runner: Runner, place: Optional[_Placement]) -> ServedProcess:
        assert self._busy is not None
        self._busy.take()
        try:
            run = _run(self._sock, runner, self._pids, derive=self._served_shared,
                       context=self._context, place=place)
        except BaseException:
            self._busy.release()
            raise
        run._on_end = self._busy.release  # pylint: disable=protected-access
        return run

    @staticmethod
    def _served_shared(spec: Spec) -> Spec:
        """The spec a shared sandbox's server gets for a run of ``spec`` (a changed copy)."""
        spec = spec.copy()
        shared.run_spec(spec)
        return spec

    @property
    def busy(self) -> bool:
        """A shared-namespace sandbox: whether a run is going (always False otherwise)."""
        return self._busy is not None and self._busy.busy

    def _served(self, spec: Spec) -> Spec:
        """The spec the sandbox's server gets for a run of ``spec`` (a changed copy); what
        it reads of the sandbox is in ``self._context``."""
        spec = spec.copy()
        if spec.pivot_root:
            raise HelperError("pivot_root: a pooled sandbox's root is built once")
        flags = list(spec.clone_flags)
        if "newuser" not in flags:
            flags.append("newuser")
            spec.uid_mappings = list(self._uid_map)
            spec.gid_mappings = list(self._gid_map)
        flags += [ns for ns in ("newpid", "newns", "newipc") if ns not in flags]
        spec.clone_flags = flags
        spec.init = True
        spec.drop_caps = True
        spec.new_session_keyring = True
        fresh: List[Any] = [mount_ops.tmpfs(d, mode=0o1777) for d in self._writable]
        fresh.append(mount_ops.proc(self._proc_dir))
        spec.mounts = fresh + list(spec.mounts)
        return spec

    def shutdown(self) -> WaitStatus:
        """Ends the sandbox (every run still going is killed) and returns its helper's status.
        Shutting down again returns the same status."""
        _end(self._sock)
        if self.busy:
            # A shared server does not read its socket while a run is going: its parent, the
            # sandbox's helper, goes, and the server follows (parent-death signal).
            try:
                self._process.kill(signal.SIGKILL)
            except (OSError, HelperError):
                pass
        return self._process.wait()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class Pool:
    """``size`` sandboxes, each built by ``make()``; each :meth:`run` goes to the next one in
    turn (a sandbox serves up to 64 runs at once). Shared-namespace sandboxes run one program
    each at a time: a run goes to the next idle one, and :class:`SandboxBusy` is raised when all
    are busy."""

    def __init__(self, size: int, make: Callable[[], Sandbox]) -> None:
        if size < 1:
            raise HelperError(f"a pool of {size} sandboxes")
        self.sandboxes: List[Sandbox] = []
        try:
            for _ in range(size):
                self.sandboxes.append(make())
        except BaseException:
            self.shutdown()
            raise
        self._next = 0
        self._lock = threading.Lock()

    def run(self, runner: Runner) -> ServedProcess:
        """Runs one program in the next sandbox (:meth:`Sandbox.run`)."""
        return self._start(lambda sandbox: sandbox.run(runner))

    def run_in(self, runner: Runner, cgroup: Cgroup) -> ServedProcess:
        """Runs one program in the next sandbox, in a per-run cgroup (:meth:`Sandbox.run_in`)."""
        return self._start(lambda sandbox: sandbox.run_in(runner, cgroup))

    def _turn(self) -> int:
        """The index of the sandbox whose turn it is (each call moves on)."""
        with self._lock:
            first = self._next % len(self.sandboxes)
            self._next += 1
        return first

    def _start(self, go: Callable[[Sandbox], ServedProcess]) -> ServedProcess:
        n, first = len(self.sandboxes), self._turn()
        sandbox = self.sandboxes[first]
        if sandbox._busy is None:  # pylint: disable=protected-access
            return go(sandbox)
        # The first sandbox from the next one on that this run can take.
        for k in range(n):
            try:
                return go(self.sandboxes[(first + k) % n])
            except SandboxBusy:
                continue
        raise SandboxBusy()

    def next_sandbox(self) -> Sandbox:
        """The sandbox the next run goes to (each call moves on; of shared-namespace sandboxes
        the next idle one, else the next, which refuses a run as busy): for
        :meth:`forkexec.judge.Judge.run_in`."""
        n, first = len(self.sandboxes), self._turn()
        turn = [self.sandboxes[(first + k) % n] for k in range(n)]
        if turn[0]._busy is None:  # pylint: disable=protected-access
            return turn[0]
        return next((s for s in turn if not s.busy), turn[0])

    def shutdown(self) -> None:
        """Ends every sandbox."""
        for s in self.sandboxes:
            s.shutdown()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
