"""A started sandboxed program: its pid, ``wait`` with resource usage, ``kill``; and the
runtime's half of the status protocol (the spec socket with the sync callback)."""

import _socket
import math
import os
import select
import signal
import socket
import subprocess
import time
from typing import TYPE_CHECKING, Any, Callable, List, NamedTuple, Optional

from . import names

if TYPE_CHECKING:
    from .spec import Spec
from .errors import ChildError, HelperError, SyncError, subject_of
from .status import (RECORD_LEN, ErrorRecord, ExecRecord, ExitRecord, PidRecord, Record,
                     SyncRecord, UnknownRecordKind, decode_record)


class Rusage(NamedTuple):
    """Resource usage: CPU time in user mode and in the kernel (seconds, as ``float``), and
    the peak resident set size in KiB."""

    user_time: float
    system_time: float
    max_rss_kib: int

    @classmethod
    def from_struct(cls, ru: Any) -> "Rusage":
        """From the ``resource.struct_rusage`` that ``os.wait4`` returns."""
        return cls(ru.ru_utime, ru.ru_stime, ru.ru_maxrss)

    @classmethod
    def from_exit_record(cls, rec: ExitRecord) -> "Rusage":
        """From a supervising helper's exit record."""
        return cls(rec.utime_us / 1e6, rec.stime_us / 1e6, rec.maxrss_kib)


class WaitStatus(NamedTuple):
    """How a process ended (or stopped): the raw wait status and its :class:`Rusage`.

    Unpacks as ``(status, rusage)``; ``code``, ``signal``, ``returncode`` read the status."""

    status: int
    rusage: Rusage

    @property
    def exited(self) -> bool:
        """Whether it exited or was killed (not a stop)."""
        return os.WIFEXITED(self.status)

    @property
    def code(self) -> Optional[int]:
        """The exit code, if it exited."""
        return os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else None

    @property
    def signal(self) -> Optional[int]:
        """The terminating signal, if a signal ended it."""
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None

    @property
    def stopped(self) -> bool:
        """Whether this is a stop (a traced process)."""
        return os.WIFSTOPPED(self.status)

    @property
    def stop_signal(self) -> Optional[int]:
        """The stopping signal, for a stop."""
        return os.WSTOPSIG(self.status) if os.WIFSTOPPED(self.status) else None

    @property
    def returncode(self) -> Optional[int]:
        """As ``subprocess``: the exit code, or minus the signal; ``None`` for a stop."""
        if os.WIFEXITED(self.status):
            return os.WEXITSTATUS(self.status)
        if os.WIFSIGNALED(self.status):
            return -os.WTERMSIG(self.status)
        return None

    @property
    def success(self) -> bool:
        """Whether it exited with code 0."""
        return self.code == 0

    def __str__(self) -> str:
        if self.code is not None:
            return f"exit status: {self.code}"
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = str(self.signal)
            return f"signal: {self.signal} ({name})"
        if self.stopped:
            return f"stopped (signal: {self.stop_signal})"
        return f"wait status {self.status:#x}"


def _ended(status: int) -> bool:
    return os.WIFEXITED(status) or os.WIFSIGNALED(status)


#: Helpers whose :class:`Process` was dropped unreaped: reaped (if they have ended) by the
#: next :meth:`Runner.start`, as ``subprocess`` reaps a dropped ``Popen``.
_DROPPED: List[int] = []


def reap_dropped() -> None:
    """Reaps the dropped helpers that have ended (never blocks, never raises)."""
    if not _DROPPED:
        return
    for pid in list(_DROPPED):
        try:
            done = os.waitpid(pid, os.WNOHANG)[0] != 0
        except ChildProcessError:
            done = True  # reaped by somebody else
        except OSError:
            continue
        if done:
            try:
                _DROPPED.remove(pid)
            except ValueError:
                pass  # another thread took it


class Spawned:
    """A child process of ours (the helper, or a detached target) until it has been reaped.

    ``popen`` is ``None`` since the helper is spawned with ``os.posix_spawn`` (the parameter
    stays for callers that pass one). ``reap_if_dropped``: when the :class:`Process` owning
    it is dropped unreaped, the pid is reaped later (set for the helper, not for a detached
    target)."""

    def __init__(self, pid: int, popen: "Optional[subprocess.Popen[bytes]]" = None,
                 path: Optional[str] = None, reap_if_dropped: bool = False) -> None:
        self.pid = pid
        self.popen = popen
        self.path = path
        self.reap_if_dropped = reap_if_dropped
        self.status: Optional[WaitStatus] = None  # once reaped

    def describe(self) -> str:
        """The program and pid, for messages."""
        return f"{self.path} (pid {self.pid})" if self.path else f"pid {self.pid}"

    def record(self, status: WaitStatus) -> None:
        """Remembers a final status (and tells ``subprocess`` not to wait for the pid again)."""
        self.status = status
        if self.popen is not None and self.popen.returncode is None:
            self.popen.returncode = status.returncode

    def wait(self, options: int = 0) -> Optional[WaitStatus]:
        """``wait4`` on the pid: the status, or ``None`` with ``WNOHANG`` while it runs.
        A final status is remembered and returned again by later calls."""
        if self.status is not None:
            return self.status
        pid, raw, ru = os.wait4(self.pid, options)
        if pid == 0:
            return None
        status = WaitStatus(raw, Rusage.from_struct(ru))
        if _ended(raw):
            self.record(status)
        return status

    def reap(self) -> WaitStatus:
        """Waits until the process has ended."""
        while True:
            status = self.wait(0)
            if status is not None and _ended(status.status):
                return status

    def kill_and_reap(self) -> Optional[WaitStatus]:
        """Kills (unless already reaped) and reaps; never raises."""
        if self.status is not None:
            return self.status
        try:
            os.kill(self.pid, signal.SIGKILL)  # our unreaped child: the pid is not reused
        except OSError:
            pass
        try:
            return self.reap()
        except ChildProcessError:
            return None


# --- the status stream ----------------------------------------------------------------------

PID, SYNC, END = "pid", "sync", "end"


class Stream:
    """The runtime's end of the spec socket: sends the spec and the sync answer, reads the
    status records."""

    def __init__(self, sock: _socket.socket,
                 sync_func: Optional[Callable[[int], object]]) -> None:
        self.sock: Optional[_socket.socket] = sock
        self.sync_func = sync_func
        #: the first write the helper was no longer there to read
        self.hung_up: Optional[OSError] = None
        #: the pid record's pid (clone shapes): the one the runtime can use
        self.pid_record: Optional[int] = None
        #: an exit record read before :meth:`exit_record` asked for it
        self.exit: Optional[ExitRecord] = None

    def close(self) -> None:
        """Closes the socket (again: nothing)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, data: bytes, what: str) -> None:
        """Writes ``data``. A helper that hung up is not an error yet: what it wrote before
        leaving is still to be read."""
        try:
            self._sock().sendall(data, socket.MSG_NOSIGNAL)
        except (BrokenPipeError, ConnectionResetError) as e:
            if self.hung_up is None:
                self.hung_up = e
        except OSError as e:
            raise HelperError(f"{what}: {e}") from e

    def read_record(self) -> Optional[Record]:
        """One record, or ``None`` at end of stream."""
        buf = bytearray()
        while len(buf) < RECORD_LEN:
            try:
                chunk = self._sock().recv(RECORD_LEN - len(buf))
            except ConnectionResetError:
                chunk = b""  # the helper left with some of our bytes unread: end of stream
            except OSError as e:
                raise HelperError(f"reading status: {e}") from e
            if not chunk:
                break
            buf += chunk
        if not buf:
            return None
        if len(buf) < RECORD_LEN:
            raise HelperError(f"status: stream ended {len(buf)} bytes into a "
                              f"{RECORD_LEN}-byte record")
        try:
            return decode_record(bytes(buf))
        except UnknownRecordKind as e:
            raise HelperError(f"status: {e}") from None

    def read_until(self, helper: Spawned, target_pid: int, stop_at: str) -> int:
        """Reads records until end of stream (``END``), or up to and including the pid record
        (``PID``) or the answered sync record (``SYNC``), or an exec record. Returns the
        target's pid. Raises :class:`ChildError` for an error record, :class:`SyncError` when
        the callback raised."""
        while True:
            rec = self.read_record()
            if rec is None:
                break
            if isinstance(rec, ErrorRecord):
                raise ChildError.from_record(rec)
            if isinstance(rec, SyncRecord):
                pid = self.pid_record if self.pid_record is not None else rec.pid
                target_pid = pid
                func, self.sync_func = self.sync_func, None
                if func is not None:
                    try:
                        func(pid)
                    except Exception as e:  # the callback refused
                        try:
                            self._sock().sendall(names.SYNC_ABORT, socket.MSG_NOSIGNAL)
                        except OSError:
                            pass
                        raise SyncError(e, self._drain_error()) from e
                self.send(names.SYNC_CONTINUE, "answering sync")
                if stop_at == SYNC:
                    return target_pid
            elif isinstance(rec, PidRecord):
                self.pid_record = target_pid = rec.pid
                if stop_at == PID:
                    return target_pid
            elif isinstance(rec, ExecRecord):
                # A supervising helper keeps the status fd open, so it says "executed".
                return rec.pid
            elif isinstance(rec, ExitRecord):
                # Before start() returns only with only_end_records: kept for Process.wait.
                self.exit = rec

        # End of stream and no error record: execve closed the helper's end...
        if self.hung_up is None:
            return target_pid
        # ...unless the helper hung up before it had the whole spec or its sync answer.
        hung_up, self.hung_up = self.hung_up, None
        status = helper.reap()
        raise HelperError(f"{helper.describe()} ended ({status}) without an error record, "
                          f"before it had the whole spec or the sync answer ({hung_up})")

    def _sock(self) -> _socket.socket:
        if self.sock is None:
            raise HelperError("the status stream is closed")
        return self.sock

    def _drain_error(self) -> Optional[ChildError]:
        """After an abort: reads up to the helper's error record; returns it as a
        :class:`ChildError` (or ``None`` at end of stream)."""
        try:
            while True:
                rec = self.read_record()
                if rec is None:
                    return None
                if isinstance(rec, ErrorRecord):
                    return ChildError.from_record(rec)
        except HelperError:
            return None

    def drain(self, timeout: float) -> bool:
        """Reads (and drops) records until end of stream; ``False`` on timeout."""
        if self.sock is None:
            return True
        self.sock.settimeout(timeout)
        try:
            while self.read_record() is not None:
                pass
            return True
        except (socket.timeout, HelperError):
            return False
        finally:
            if self.sock is not None:
                self.sock.settimeout(None)

    def exit_record(self) -> Optional[ExitRecord]:
        """After a supervising helper has ended: the target's exit record, if it sent one."""
        kept, self.exit = self.exit, None
        if kept is not None:
            return kept
        try:
            while self.sock is not None:
                rec = self.read_record()
                if rec is None:
                    return None
                if isinstance(rec, ExitRecord):
                    return rec
        except HelperError:
            return None
        return None


def settle(error: BaseException, stream: Stream, helper: Spawned,
           target: Optional[Spawned] = None, timeout: float = 10.0) -> None:
    """After an error record (or a sync abort): lets the processes end on their own (they
    exit right after the record), reaps them, and puts the exit status on the error. A process
    still there after ``timeout`` seconds is killed."""
    if not stream.drain(timeout):
        for p in (target, helper):
            if p is not None:
                p.kill_and_reap()
    stream.close()
    statuses: List[WaitStatus] = []
    for p in (target, helper):
        if p is None:
            continue
        status: Optional[WaitStatus]
        try:
            status = p.reap()
        except ChildProcessError:
            status = p.status
        if status is not None:
            statuses.append(status)
    child = error if isinstance(error, ChildError) else getattr(error, "child_error", None)
    if child is not None and statuses:
        exited = [s for s in statuses if s.exited]
        child.exit_status = (exited[0] if exited else statuses[0]).status


class Process:
    """A started program. In the exec-in-place shape it *is* the helper process, now running
    the target; in the supervise and init shapes it is the helper that supervises it (which
    ends the way the target ends); in the detach shape it is the target itself.

    Dropping a ``Process`` neither waits nor kills. A dropped helper is reaped once it has
    ended by a later :meth:`Runner.start` (as ``subprocess`` does for a dropped ``Popen``); a
    dropped detached target stays a zombie until this process exits."""

    def __init__(self, spawned: Spawned, target_pid: int, stream: Optional[Stream] = None,
                 pending: bool = False, supervised: bool = False,
                 spec: "Optional[Spec]" = None) -> None:
        self._spawned = spawned
        self.target_pid = target_pid
        self._stream = stream
        self._pending = pending
        self._supervised = supervised
        self._status: Optional[WaitStatus] = None
        self._spec = spec

    @property
    def pid(self) -> int:
        """The pid of our child: the one to wait for (and the target in place and detached)."""
        return self._spawned.pid

    @property
    def popen(self) -> "Optional[subprocess.Popen[bytes]]":
        """``None``: the helper is spawned with ``os.posix_spawn``, not ``subprocess.Popen``
        (kept so that code reading it still runs; :meth:`wait` and :attr:`pid` are the way)."""
        return self._spawned.popen

    def __del__(self) -> None:
        spawned = getattr(self, "_spawned", None)
        if spawned is not None and spawned.reap_if_dropped and spawned.status is None:
            try:
                _DROPPED.append(spawned.pid)
            except Exception:  # interpreter shutdown: nobody is left to reap it anyway
                pass

    @property
    def start_pending(self) -> bool:
        """Whether the status stream is still to be read by :meth:`finish_start` (the helper
        stops itself before exec: ``Spec.stops_before_exec``)."""
        return self._pending

    def finish_start(self) -> None:
        """Reads the rest of the status stream of a helper that stopped itself before exec:
        call it once the tracer has let it go on (it blocks until the exec or an error record).
        Returns at once if nothing is pending. On error the process has been reaped (its
        status is what :meth:`wait` returns)."""
        if not self._pending:
            return
        self._pending = False
        stream = self._stream
        if stream is None:
            return
        try:
            self.target_pid = stream.read_until(self._spawned, self.target_pid, END)
        except (ChildError, SyncError) as e:
            settle(e, stream, self._spawned)
            self._status = self._spawned.status
            child = e if isinstance(e, ChildError) else e.child_error
            if child is not None and self._spec is not None:
                child.subject = subject_of(child, self._spec)
            raise
        except BaseException:
            self._status = self._spawned.kill_and_reap()
            stream.close()
            raise
        if self._supervised:
            return
        stream.close()

    def wait(self, timeout: Optional[float] = None) -> WaitStatus:
        """Waits for the process to change state and returns a :class:`WaitStatus`
        ``(status, rusage)``, via ``os.wait4``. Once the process has ended its status is
        remembered. A supervising helper's status is replaced by the target's own, exactly as
        its exit record gives it, with the target's CPU time and peak memory. A traced process
        also reports its stops here (returned, not remembered).

        With ``timeout`` (seconds), raises ``subprocess.TimeoutExpired`` if the process is
        still running then (as ``subprocess.Popen.wait``). The wait sleeps on a pidfd
        (``os.pidfd_open`` and ``poll``), so it returns the moment the process ends; without
        pidfds it looks every millisecond."""
        if timeout is None:
            waited = self._wait(0)
            if waited is None:  # wait4 without WNOHANG always has a status
                raise HelperError(f"wait4({self.pid}) returned no status")
            return waited
        status = self.wait_timeout(timeout)
        if status is None:
            raise subprocess.TimeoutExpired([str(self._spawned.path or self.pid)], timeout)
        return status

    def wait_timeout(self, timeout: float) -> Optional[WaitStatus]:
        """Like :meth:`wait`, but ``None`` if the process is still running after ``timeout``
        seconds."""
        status = self._wait(os.WNOHANG)
        if status is not None:
            return status
        deadline = time.monotonic() + timeout
        pidfd = None
        try:
            try:
                pidfd = os.pidfd_open(self.pid)
            except (AttributeError, OSError):
                pidfd = None
            poller = select.poll() if pidfd is not None else None
            if poller is not None and pidfd is not None:
                poller.register(pidfd, select.POLLIN)
            while True:
                left = deadline - time.monotonic()
                if poller is not None:
                    poller.poll(max(0, math.ceil(left * 1000)))
                else:
                    time.sleep(max(0.0, min(left, 0.001)))
                status = self._wait(os.WNOHANG)
                if status is not None:
                    return status
                if time.monotonic() >= deadline:
                    return None
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def try_wait(self) -> Optional[WaitStatus]:
        """Like :meth:`wait`, but ``None`` at once if the process is still running."""
        return self._wait(os.WNOHANG)

    def poll(self) -> Optional[int]:
        """As ``subprocess.Popen.poll``: the return code, or ``None`` while running."""
        status = self.try_wait()
        return None if status is None else status.returncode

    def _wait(self, options: int) -> Optional[WaitStatus]:
        if self._status is not None:
            return self._status
        status = self._spawned.wait(options)
        if status is None or not _ended(status.status):
            return status
        if self._supervised and self._stream is not None:
            rec = self._stream.exit_record()
            self._stream.close()
            if rec is not None:
                status = WaitStatus(rec.status, Rusage.from_exit_record(rec))
        elif self._stream is not None:
            self._stream.close()
        self._status = status
        return status

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Sends ``sig``. A supervising helper forwards signals to the target, except SIGKILL,
        which cannot be caught: that one goes to the target itself (with init: to init, which
        takes the pid namespace down), and the helper then ends the same way."""
        if self._status is not None:
            raise ProcessLookupError("process already waited for")
        if sig == signal.SIGKILL and self._supervised:
            os.kill(self.target_pid, sig)
        else:
            os.kill(self.pid, sig)

    def __repr__(self) -> str:
        return f"<forkexec.Process pid={self.pid} target_pid={self.target_pid}>"
