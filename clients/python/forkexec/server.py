"""The fork server and warm sandboxes (docs/spec.md "Fork server", docs/python.md).

:class:`Server` starts the helper once (``forkexec --serve N``) and runs one program per
:meth:`Server.run`: a fresh process forked by the server runs the same chain a one-shot helper
runs. :class:`Sandbox` builds a sandbox's namespaces, id maps, root and mounts once, with a fork
server inside; each :meth:`Sandbox.run` is a fresh process in its own user, pid (with init: a
daemon it forks dies with it), mount and ipc namespaces, with a fresh tmpfs on each writable
place, its own proc, a new session keyring and every capability dropped; the sandbox's other
mounts are read-only. :class:`Pool` spreads runs over several sandboxes. The Rust client's
``Server``, ``Sandbox`` and ``Pool`` work the same way (docs/design.md, "Warm sandboxes").
"""

import _socket
import os
import signal
import socket
import struct
import subprocess
import threading
from typing import Any, Callable, List, Optional, Sequence

from . import mount_ops, shared, wire
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


def request(numbers: Sequence[int]) -> bytes:
    """The request bytes for fds placed at ``numbers`` (the run channel not counted)."""
    if len(numbers) >= REQUEST_MAX_FDS:
        raise HelperError(f"more fds than one request carries ({REQUEST_MAX_FDS - 1})")
    return REQUEST_MAGIC + struct.pack(f"<I{len(numbers)}I", len(numbers), *numbers)


class ServedProcess:
    """A program started by a :class:`Server` or a :class:`Sandbox`. ``wait()`` returns the
    same :class:`WaitStatus` as :meth:`forkexec.Process.wait` (from the exit record).
    :meth:`close` (or garbage collection) before ``wait`` makes the server kill the run."""

    def __init__(self, channel: _socket.socket, foreign: bool) -> None:
        self._channel = channel
        self._foreign = foreign
        #: The target's pid as the server sees it (a sandbox's run: the pid in the sandbox).
        self.pid = 0
        self._status: Optional[WaitStatus] = None
        # A shared sandbox's run: frees the sandbox once the run's end was read (or closed).
        self._on_end: Optional[Callable[[], None]] = None

    def _ended(self) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()

    def _read(self) -> Optional[Record]:
        data = b""
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

    def _start(self, spec_bytes: bytes, sync_func: Optional[Callable[[int], object]]) -> None:
        try:
            self._channel.sendall(spec_bytes)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the run went away early: its error record says why
        while True:
            rec = self._read()
            if rec is None:
                raise HelperError("the fork server closed the run's channel before it executed")
            if isinstance(rec, ErrorRecord):
                raise ChildError.from_record(rec)
            if isinstance(rec, PidRecord):
                self.pid = rec.pid
            elif isinstance(rec, SyncRecord):
                if sync_func is not None:
                    try:
                        sync_func(self.pid or rec.pid)
                    except Exception as e:
                        self._channel.sendall(_SYNC_ABORT)
                        raise SyncError(e) from e
                self._channel.sendall(_SYNC_CONTINUE)
            elif isinstance(rec, ExecRecord):
                self.pid = rec.pid
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

    def kill(self, sig: int) -> None:
        """Sends ``sig`` to the program. Refused once waited for, and for a sandbox's run (its
        pid is the sandbox's: :meth:`close` it to have the server kill it)."""
        if self._foreign:
            raise HelperError("a sandbox run's pid is the sandbox's: close() kills the run")
        if self._status is not None or not self.pid:
            raise HelperError("process already waited for")
        os.kill(self.pid, sig)

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


def _run(sock: socket.socket, runner: Runner, foreign: bool,
         derive: Optional[Callable[[Spec], Spec]] = None, context: Any = None
         ) -> ServedProcess:
    """One run on the fork server at ``sock``: the request, the spec, the records up to the
    exec. ``derive(spec)``: the spec the server gets, made from (a copy of) the runner's;
    ``context``: everything else ``derive`` reads. The runner keeps the encoded result
    (``Runner._kept_encoding``), so a run of an unchanged runner only checks its fds, makes
    the channel, sends the request and the spec, and reads the records."""
    encoded = runner._kept_encoding(  # pylint: disable=protected-access
        2, context, _served_spec, runner, derive)
    if encoded.shape == "detach":
        raise HelperError("detach: the target would be the fork server's child")
    fds = _checked_fds(encoded.fds)
    # Close-on-exec (PEP 446); _socket's objects, without socket.socket's Python wrapper.
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        socket.send_fds(sock, [request(fds)], [theirs.fileno(), *fds])
    except OSError as e:
        ours.close()
        raise HelperError(f"sending the request to the fork server: {e}") from e
    finally:
        theirs.close()
    run = ServedProcess(ours, foreign)
    try:
        run._start(encoded.data, runner.sync_func)  # pylint: disable=protected-access
    except BaseException:
        run.close()
        raise
    return run


def _served_spec(runner: Runner, derive: Optional[Callable[[Spec], Spec]]) -> Spec:
    """The normalized spec a served run sends (``derive``'s, when given), checked for what a
    served run refuses before it is encoded."""
    spec: Spec = runner.spec if derive is None else derive(runner.spec)
    spec = normalized(spec)
    if runner.sync_func is not None:
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
        return _run(self._sock, runner, foreign=False)

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
        capability; the runner's args, env, files, work dir, rlimits, ``cgroup_fd``, seccomp
        and Landlock. ``pivot_root`` and ``cgroup`` (a path: pass ``cgroup_fd``) are refused.
        The returned process's ``kill`` is refused (its pid is the sandbox's): ``close()`` it.
        Safe to call from several threads at once (up to 64 runs at once per sandbox).

        In a shared-namespace sandbox the run gets no namespace of its own (it may ask for
        ``newipc``, ``newnet``, and ``newns`` for mounts of its own), and a second run while
        one is going raises :class:`SandboxBusy`."""
        if self._busy is not None:
            return self._run_shared(runner)
        return _run(self._sock, runner, foreign=True, derive=self._served,
                    context=self._context)

    def _run_shared(self, runner: Runner) -> ServedProcess:
        assert self._busy is not None
        self._busy.take()
        try:
            run = _run(self._sock, runner, foreign=True, derive=self._served_shared,
                       context=self._context)
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
        if spec.cgroup:
            raise HelperError("cgroup: the path is not visible inside the sandbox; "
                              "use cgroup_fd")
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
        with self._lock:
            n = len(self.sandboxes)
            first = self._next % n
            self._next += 1
        sandbox = self.sandboxes[first]
        if sandbox._busy is None:  # pylint: disable=protected-access
            return sandbox.run(runner)
        # The first sandbox from the next one on that this run can take.
        for k in range(n):
            try:
                return self.sandboxes[(first + k) % n].run(runner)
            except SandboxBusy:
                continue
        raise SandboxBusy()

    def shutdown(self) -> None:
        """Ends every sandbox."""
        for s in self.sandboxes:
            s.shutdown()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
