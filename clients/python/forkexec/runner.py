"""``Runner``: go-sandbox's ``Runner``, run by spawning the ``forkexec`` helper.

How :meth:`Runner.start` talks to the helper (docs/spec.md, "The conversation"):

1. The spec is encoded and checked by this package's copy of the helper's decoder, and the
   process shape is worked out with our effective ids: a spec the helper would refuse raises
   :class:`SpecError` before any process exists. The runner keeps the result for its next
   start while the spec (compared as ``pickle`` writes it), the sync callback's presence and
   (for a spec with id maps) our effective ids stay the same.
2. ``socketpair(AF_UNIX, SOCK_STREAM)`` (close-on-exec); the helper is spawned with
   ``os.posix_spawn([helper, "--spec-fd", N])`` (``clone(CLONE_VM | CLONE_VFORK)`` +
   ``execve``, no fork, no Python code in the child), where N is its end. Its file actions keep
   that end, the spec's ``files``, ``exec_file``, ``status_fd`` and ``cgroup_fd``, and the
   ``source_fd`` and ``content_fd`` of its mount operations, at their numbers (see
   :func:`_spawn`); every other fd of ours that Python made (close-on-exec, PEP 446) stays
   here. Our copy of the helper's end is closed, so that its exec shows as end of stream.
3. The spec is written, then 32-byte status records are read: an **error** record raises
   :class:`ChildError` (after the helper has ended and been reaped, so ``exit_code`` is
   known); a **sync** record calls ``sync_func(pid)`` and answers one byte (0 = go on; when
   the callback raises, a refusal, and :class:`SyncError`); a **pid** record names the target
   (clone shapes); an **exec** record (supervise, init) or end of stream (in place, detach)
   means the target runs.

In the clone shapes the sync callback gets the pid record's pid (the target's pid as we see
it; with init, init's), not the pid in the sync record, which is the one inside the target's
pid namespace (1 in a new one).

A helper told to stop itself before exec (``stop_before_seccomp``, implied by ``ptrace`` with
``seccomp``) only goes on when its tracer lets it, so ``start`` then returns once the spec is
written and the sync answered, and :meth:`Process.finish_start` reads the rest.

On every failure path the helper (and a detached target) is reaped, killed first when it is
not ending by itself, so a failed ``start`` leaves neither a process nor a zombie.
"""

import _socket
import dataclasses
import os
import pickle
import signal
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import wire
from .errors import ChildError, HelperError, SpecError, SyncError, subject_of
from .helper import Environment, encoded, find_helper, helper_environment
from .process import (END, PID, SYNC, Process, Rusage, Spawned, Stream, WaitStatus,
                      reap_dropped, settle)
from .spec import Spec, _SPEC_KEYS, normalized
from .status import RECORD_LEN, ErrorRecord, ExitRecord, UnknownRecordKind, decode_record


class Runner:
    """A sandboxed program to start: a :class:`Spec` plus what only a live runtime has (the
    sync callback, where the helper is).

    ``Runner(args=[...], env=[...], files=[0, 1, 2], clone_flags=["newns"], ...)`` takes the
    spec's fields as keywords (the JSON form's keys; values as in the JSON form, or the
    :class:`~forkexec.Mount`, :class:`~forkexec.Rlimit`… classes); ``Runner(spec)`` takes a
    :class:`Spec` (copied) or a dict in the JSON form, and ``Runner(["/bin/true"])`` an argv.
    Keywords given with a spec override its fields. The spec's fields can also be read and set
    as attributes of the runner (``runner.files = [0, 1, 2]``).

    ``sync_func(pid)`` is called right before exec (after ids, mounts and limits, before
    seccomp); returning normally lets the target run, raising aborts (:class:`SyncError`).
    ``helper`` is the helper binary (default: :func:`~forkexec.find_helper`).
    ``helper_env`` is the environment the helper is spawned with (the target's is the spec's
    ``env``); by default (``None``) :func:`~forkexec.helper.helper_environment` picks it: an
    empty one for an ELF executable, this process's for a wrapper script.
    ``on_spawn(pid)`` is called with the helper's pid right after it is spawned, before it is
    sent the spec (it has started nothing yet): e.g. to write it into cgroup v1
    ``cgroup.procs`` files (:meth:`forkexec.cgroup.Cgroup.place`); raising kills the helper
    and raises :class:`HelperError` ("spawn hook refused").
    """

    def __init__(self, spec: Union[Spec, Dict[str, Any], Sequence[Union[str, bytes]], None] = None,
                 *, sync_func: Optional[Callable[[int], object]] = None,
                 helper: Optional[str] = None,
                 on_spawn: Optional[Callable[[int], object]] = None,
                 helper_env: Optional[Environment] = None, **fields: Any) -> None:
        if spec is None:
            spec = Spec(**fields)
        else:
            if isinstance(spec, Spec):
                spec = spec.copy()
            elif isinstance(spec, dict):
                spec = Spec.from_json(spec)
            elif isinstance(spec, (list, tuple)):
                spec = Spec(args=list(spec))
            else:
                raise TypeError("Runner(spec): a Spec, a dict in the JSON form or an argv list, "
                                f"not {type(spec).__name__}")
            if fields:
                spec = dataclasses.replace(spec, **fields)
        object.__setattr__(self, "spec", spec)
        object.__setattr__(self, "sync_func", sync_func)
        object.__setattr__(self, "helper", helper)
        object.__setattr__(self, "on_spawn", on_spawn)
        object.__setattr__(self, "helper_env", helper_env)
        object.__setattr__(self, "_encoded", (None, None, None))

    @classmethod
    def safe(cls, spec: Any = None, **kwargs: Any) -> "Runner":
        """A runner with forkexec-run's safe defaults (docs/cli.md, "Safe defaults"): every
        capability dropped, ``no_new_privs``, a new session keyring. ``Runner(...)`` and the
        spec keep go-sandbox's zero values; a keyword given here (``drop_caps=False``) wins."""
        defaults = {"drop_caps": True, "no_new_privs": True, "new_session_keyring": True}
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        return cls(spec, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in _SPEC_KEYS:
            return getattr(self.spec, name)
        raise AttributeError(f"'Runner' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SPEC_KEYS:
            setattr(self.spec, name, value)
        elif name in ("spec", "sync_func", "helper", "on_spawn", "helper_env"):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(f"'Runner' object has no attribute '{name}'")

    def __repr__(self) -> str:
        return f"Runner({self.spec!r}, sync_func={self.sync_func!r}, helper={self.helper!r})"

    def find_helper(self) -> str:
        """The helper binary :meth:`start` runs."""
        return self.helper or find_helper()

    def encode(self) -> bytes:
        """The spec bytes :meth:`start` would send."""
        return wire.encode(self._spec())

    def _spec(self) -> Spec:
        spec = normalized(self.spec)
        if self.sync_func is not None:
            spec.sync = True
        return spec

    def run(self) -> WaitStatus:
        """Starts the program and waits for it to end: :meth:`start` then
        :meth:`Process.wait`. When nothing needs the records of the start (no sync callback,
        no stop before exec, not detach, no ``status_fd``), the spec asks the helper for only
        the end records (``only_end_records``): a supervising helper then does not wake this
        process at the target's exec, and ``run`` does no more than a bare spawn would: one
        ``socketpair``, ``os.posix_spawn``, the spec written, one ``os.wait4`` for the helper
        (which ends the way the target ends), then one read of what the helper left on the
        stream: nothing (in place), an error record, or the target's exit record. No
        :class:`Process` is made and nothing is waited for twice.

        Raises what :meth:`start` raises; a :class:`ChildError` has ``exit_status`` set."""
        spec = self.spec
        needs_start = (self.sync_func is not None or spec.sync or spec.stops_before_exec()
                       or spec.detach or spec.status_fd is not None)
        if needs_start:
            return self.start().wait()
        return _run_to_end(self, self.helper or find_helper(),
                           self._encode_for_start(only_end_records=True))

    def start(self) -> Process:
        """Spawns the helper, hands it the spec and answers its status records until the
        target is executed. Returns the running :class:`Process`.

        Raises :class:`SpecError` (refused before spawning), :class:`ChildError` (a step
        failed, nothing ran), :class:`SyncError` (the callback raised) or
        :class:`HelperError`. Safe to call from several threads at once."""
        start, data = self._spawn_helper(only_end_records=False)
        return start.run(data)

    def _spawn_helper(self, only_end_records: bool) -> "Tuple[_Start, bytes]":
        """The spec encoded, the helper spawned (and the spawn hook called): the start to
        run, and the spec bytes to send."""
        encoded = self._encode_for_start(only_end_records)
        path = self.find_helper()
        ours, pid, _ = _spawn_checked(path, encoded, self._helper_env(path))
        helper = Spawned(pid, None, path, reap_if_dropped=True)
        if self.on_spawn is not None:
            _call_spawn_hook(self.on_spawn, pid, ours)
        stream = Stream(ours, self.sync_func)
        return _Start(encoded.spec, encoded.shape, helper, stream), encoded.data

    def _helper_env(self, path: str) -> Environment:
        """The environment the helper at ``path`` is spawned with."""
        env = self.helper_env
        return helper_environment(path) if env is None else encoded(env)

    def _encode_for_start(self, only_end_records: bool = False) -> "_Encoded":
        """The normalized spec, its bytes and its shape, as ``start`` (or, with
        ``only_end_records``, ``run``) needs them; kept (:meth:`_kept_encoding`)."""
        return self._kept_encoding(1 if only_end_records else 0, None, _start_spec, self,
                                   only_end_records)

    def _kept_encoding(self, slot: int, context: Any, make: Callable[..., Spec],
                       *args: Any) -> "_Encoded":
        """``make(*args)``'s spec (normalized), encoded, checked and its shape worked out,
        kept in ``slot`` (0 ``start``, 1 ``run``, 2 a fork server's or warm sandbox's run,
        forkexec.server) for the next start there.

        Normalizing, encoding and checking cost ~60 µs of Python for a small spec and ~1 ms
        for a sandbox profile, so the result is used again while the spec's state as
        ``pickle`` writes it (which tells ``1`` from ``True`` and ``1.0``, ``str`` from
        ``bytes``, and sees a list or a nested object changed in place), ``context`` (what
        else ``make`` reads, compared with ``==``), whether there is a sync callback, and, for
        a spec with id maps (the shape depends on them only then), our effective ids are what
        they were. A spec ``pickle`` cannot write is normalized every time. Whatever ``make``
        refuses is refused before anything is kept."""
        spec_now = self.spec
        try:
            # The values alone (a dataclass's fields are fixed and in order; type() is in the
            # key): half the work of pickling the dict with its ~50 names.
            state: Optional[bytes] = pickle.dumps(tuple(vars(spec_now).values()),
                                                  pickle.HIGHEST_PROTOCOL)
        except Exception:  # something pickle cannot write: checked again every time
            state = None
        key = (type(spec_now), state, context, self.sync_func is not None)
        kept: Optional[_Encoded] = self._encoded[slot]
        if (state is not None and kept is not None and kept.key == key
                and (kept.ids is None or kept.ids == (os.geteuid(), os.getegid()))):
            return kept
        spec = make(*args)
        data, decoded = wire.encode_checked(spec)
        ids = (os.geteuid(), os.getegid())
        try:
            shape = decoded.shape(*ids)
        except SpecError as e:
            raise SpecError(e.fault, e.offset, wire.record_at(data, e.offset)) from None
        encoded = _Encoded(spec, data, shape, key, _named_fds(spec),
                           ids if decoded.has_id_maps() else None)
        slots = list(self._encoded)
        slots[slot] = encoded
        object.__setattr__(self, "_encoded", tuple(slots))
        return encoded


def _start_spec(runner: Runner, only_end_records: bool) -> Spec:
    """The spec ``start`` (or ``run``, which sets ``only_end_records``) sends."""
    spec = runner._spec()  # pylint: disable=protected-access
    if only_end_records:
        spec.only_end_records = True
    if spec.status_fd is not None and spec.sync:
        raise HelperError("status_fd with sync: the sync record would go to status_fd, "
                          "which start() does not read; answer it yourself or drop "
                          "status_fd")
    return spec


class _Encoded(NamedTuple):
    """What :meth:`Runner.start` sends, kept by the runner for the next start."""

    spec: Spec
    data: bytes
    shape: str
    key: Any
    #: the fds of ours the helper inherits, with the spec field naming each (for messages)
    fds: "Tuple[Tuple[int, str], ...]"
    #: our effective ids the shape was worked out with, for a spec with id maps (else None:
    #: the shape does not depend on them)
    ids: "Optional[Tuple[int, int]]"


class _Start:
    """One ``start`` after the spawn: owns the cleanup of every process it made."""

    def __init__(self, spec: Spec, shape: str, helper: Spawned, stream: Stream) -> None:
        self.spec = spec
        self.shape = shape
        self.helper = helper
        self.stream = stream
        self.target: Optional[Spawned] = None  # a detached target, once its pid is known

    def run(self, data: bytes) -> Process:
        try:
            self.stream.send(data, "writing the spec")
            if self.shape == wire.DETACH:
                return self._detached()
            pid = self.helper.pid
            if self.spec.stops_before_exec():
                # The sync point comes before the stop.
                target_pid = pid
                if self.spec.sync:
                    target_pid = self.stream.read_until(self.helper, pid, SYNC)
                return Process(self.helper, target_pid, self.stream, pending=True,
                               spec=self.spec)
            target_pid = self.stream.read_until(self.helper, pid, END)
            if self.shape == wire.IN_PLACE:
                self.stream.close()
                return Process(self.helper, target_pid)
            # supervise, init: the helper's exit record (read by wait) has the target's
            # own status and usage.
            return Process(self.helper, target_pid, self.stream, supervised=True)
        except (ChildError, SyncError) as e:
            settle(e, self.stream, self.helper, self.target)
            child = e if isinstance(e, ChildError) else e.child_error
            if child is not None:
                child.subject = subject_of(child, self.spec)
            raise
        except BaseException:
            for p in (self.target, self.helper):
                if p is not None:
                    p.kill_and_reap()
            self.stream.close()
            raise

    def run_to_end(self, data: bytes) -> WaitStatus:
        """In place, for :meth:`Runner.run`: the spec written, the helper (the target, once it
        executed) waited for, then the stream read: an error record, or end of stream."""
        try:
            self.stream.send(data, "writing the spec")
            status = self.helper.reap()
            self.stream.read_until(self.helper, self.helper.pid, END)
        except (ChildError, SyncError) as e:
            settle(e, self.stream, self.helper)
            child = e if isinstance(e, ChildError) else e.child_error
            if child is not None:
                child.subject = subject_of(child, self.spec)
            raise
        except BaseException:
            self.helper.kill_and_reap()
            self.stream.close()
            raise
        self.stream.close()
        return status

    def _detached(self) -> Process:
        """Detach: the helper exits right after the pid record; from that record on the target
        is our own child."""
        helper, stream = self.helper, self.stream
        target_pid = stream.read_until(helper, helper.pid, PID)
        if stream.pid_record is None:
            status = helper.reap()
            raise HelperError(f"{helper.describe()} ended ({status}) without reporting the "
                              "detached target's pid")
        self.target = target = Spawned(target_pid, None, f"detached target of {helper.path}")
        if self.spec.stops_before_exec():
            if self.spec.sync:
                stream.read_until(target, target_pid, SYNC)
            self._reap_detaching_helper()
            return Process(target, target_pid, stream, pending=True, spec=self.spec)
        stream.read_until(target, target_pid, END)
        self._reap_detaching_helper()
        stream.close()
        return Process(target, target_pid)

    def _reap_detaching_helper(self) -> None:
        status = self.helper.reap()
        if not status.success:
            raise HelperError(f"{self.helper.describe()} ended ({status}) after starting a "
                              "detached target")


#: Reset to their default action in the helper, as ``subprocess`` does (``restore_signals``):
#: Python ignores them, and an ignored signal stays ignored across ``execve``.
_RESTORED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ")
                          if hasattr(signal, name))


def _spawn(path: str, spec_fd: int, keep: List[int], env: Environment) -> int:
    """Starts the helper with ``os.posix_spawn`` (libc's: ``clone(CLONE_VM | CLONE_VFORK)``
    and ``execve``, no fork of this interpreter) and returns its pid once it has executed.

    ``spec_fd`` and ``keep`` (close-on-exec fds) reach it with their numbers: a
    ``dup2(fd, fd)`` file action clears close-on-exec in the child only (POSIX 2024; glibc
    2.29+, musl 1.1.24+), so processes that other threads spawn meanwhile inherit none of
    them. Every fd of ours that is inheritable (0–2 usually; Python makes no other one so
    unless asked: PEP 446) reaches the helper as it is, which closes every fd outside the
    target's table before the target runs. The signal mask is emptied, SIGPIPE and SIGXFSZ
    get their default action; the environment is ``env``. A path without ``/`` is looked up
    on ``PATH``, as ``subprocess`` does."""
    # spec_fd is not in keep: it was made after keep's fds were checked to be open.
    actions = [(os.POSIX_SPAWN_DUP2, fd, fd) for fd in keep]
    actions.append((os.POSIX_SPAWN_DUP2, spec_fd, spec_fd))
    spawn = os.posix_spawn if "/" in path else os.posix_spawnp
    return spawn(path, [path, "--spec-fd", str(spec_fd)], env, file_actions=actions,
                 setsigmask=(), setsigdef=_RESTORED_SIGNALS)


def _inherited_fds(spec: Spec) -> List[int]:
    """The fds of ours the helper must inherit with their numbers, checked to be open."""
    return _checked_fds(_named_fds(spec))


def _named_fds(spec: Spec) -> "Tuple[Tuple[int, str], ...]":
    """Every fd of ours the spec names, each once with the first field naming it."""
    named = [(fd, f"files[{i}]") for i, fd in enumerate(spec.files)]
    for key in ("exec_file", "status_fd", "cgroup_fd", "info_fd", "json_status_fd", "sync_fd",
                "block_fd", "userns_block_fd"):
        fd = getattr(spec, key)
        if fd is not None:
            named.append((fd, key))
    if spec.join_ns is not None:
        for key in ("user", "pid", "user2"):
            fd = getattr(spec.join_ns, key)
            if fd is not None:
                named.append((fd, f"join_ns.{key}"))
    # A mount operation's fd is read after the fd stage, at its own number (the decoder has
    # refused one that the target's fd table would replace).
    for i, m in enumerate(spec.mounts):
        for key in ("source_fd", "content_fd"):
            fd = getattr(m, key, None)
            if fd is not None:
                named.append((fd, f"mounts[{i}].{key}"))
    first: Dict[int, str] = {}
    for fd, field in named:
        if fd >= 0:  # a negative one is refused by the decoder already
            first.setdefault(fd, field)
    return tuple(first.items())


def _cloexec_fds(named: "Tuple[Tuple[int, str], ...]") -> List[int]:
    """The fds of ``named`` (from :func:`_named_fds`) that are close-on-exec, which the spawn
    must hand the helper with a file action; each fd checked to be open now (one
    ``fcntl(F_GETFD)``, as :func:`_checked_fds`'s ``fstat``)."""
    fds = []
    for fd, field in named:
        try:
            inheritable = os.get_inheritable(fd)
        except OSError:
            raise HelperError(f"cannot pass {field} (fd {fd}): not an open fd of this "
                              "process") from None
        if not inheritable:
            fds.append(fd)
    return fds


def _checked_fds(named: "Tuple[Tuple[int, str], ...]") -> List[int]:
    """The fds of ``named`` (from :func:`_named_fds`), each checked to be open now; sorted."""
    fds = []
    for fd, field in named:
        try:
            os.fstat(fd)
        except OSError:
            raise HelperError(f"cannot pass {field} (fd {fd}): not an open fd of this "
                              "process") from None
        fds.append(fd)
    fds.sort()
    return fds


def _spawn_checked(path: str, encoded: _Encoded, env: Environment, early: bytes = b""
                   ) -> "Tuple[_socket.socket, int, int]":
    """The fds to pass checked (every time: one may have been closed since the spec was
    encoded), dropped helpers reaped, then the channel made and the helper spawned on it with
    ``env``: our end of the channel, the helper's pid, and how many bytes of ``early`` were
    written into the channel before the spawn (as many as its buffer takes without waiting:
    all of a spec that is not huge), so that the helper finds the spec there as it starts
    instead of waiting for this process to be scheduled again. Raises :class:`HelperError`."""
    # Checked before the socketpair could take the number of one closed since.
    keep = _cloexec_fds(encoded.fds)
    reap_dropped()
    # Python makes it close-on-exec (SOCK_CLOEXEC, PEP 446): only the dup2 file action hands
    # the helper its end. _socket's object, not socket.socket's wrapper: nothing in Python.
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sent = 0
    try:
        if early:
            try:
                sent = ours.send(early, _socket.MSG_DONTWAIT | _socket.MSG_NOSIGNAL)
            except BlockingIOError:
                pass
            except OSError as e:
                raise HelperError(f"writing the spec: {e}") from e
        try:
            pid = _spawn(path, theirs.fileno(), keep, env)
        except OSError as e:
            raise HelperError(f"cannot run {path}: {e}") from e
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return ours, pid, sent


def _call_spawn_hook(hook: Callable[[int], object], pid: int, ours: "_socket.socket") -> None:
    """``on_spawn(pid)``; when it raises, the helper is killed and reaped, the channel closed,
    and :class:`HelperError` raised (a ``KeyboardInterrupt`` or ``SystemExit`` goes on as it
    is)."""
    try:
        hook(pid)
    except BaseException as e:
        Spawned(pid).kill_and_reap()
        ours.close()
        if isinstance(e, Exception):
            raise HelperError(f"spawn hook refused: {e}") from e
        raise


def _run_to_end(runner: Runner, path: str, encoded: _Encoded) -> WaitStatus:
    """:meth:`Runner.run` when nothing needs the start's records (``only_end_records`` set;
    no sync, no stop before exec, not detach, no ``status_fd``). The helper is spawned, sent
    the spec (written into the channel before the spawn when there is no spawn hook, which
    must run before the helper has its spec), and waited for: in place it is the target; in
    the clone shapes it ends the way the target ends, after writing the target's exit
    record. Once it has ended, everything it
    wrote is on the channel, so one read (and one more to see the end of a non-empty stream)
    takes it all. The outcomes are :meth:`Runner.start`'s then :meth:`Process.wait`'s:
    :class:`ChildError` with ``exit_status`` and ``subject`` for an error record,
    :class:`HelperError` for a torn record, an unknown kind or a helper that hung up before it
    had the whole spec; else the target's status (from the exit record in the clone
    shapes)."""
    on_spawn = runner.on_spawn
    spec = encoded.data
    ours, pid, sent = _spawn_checked(path, encoded, runner._helper_env(path),
                                     b"" if on_spawn is not None else spec)
    if on_spawn is not None:
        _call_spawn_hook(on_spawn, pid, ours)
    hung_up: Optional[OSError] = None
    reaped = False
    try:
        try:
            if sent < len(spec):
                ours.sendall(spec[sent:], _socket.MSG_NOSIGNAL)
        except (BrokenPipeError, ConnectionResetError) as e:
            hung_up = e  # what it wrote before leaving is still to be read
        except OSError as e:
            raise HelperError(f"writing the spec: {e}") from e
        while True:  # a stop (of a helper we trace) is not its end
            _, raw, usage = os.wait4(pid, 0)
            if os.WIFEXITED(raw) or os.WIFSIGNALED(raw):
                break
        reaped = True
        data = b""
        while True:
            try:
                chunk = ours.recv(4096)
            except ConnectionResetError as e:
                # The helper left with some of our bytes unread (the records it wrote come
                # first): end of stream, and it did not have the whole spec.
                if hung_up is None:
                    hung_up = e
                break
            except OSError as e:
                raise HelperError(f"reading status: {e}") from e
            if not chunk:
                break
            data += chunk
    except BaseException:
        if not reaped:
            Spawned(pid, None, path).kill_and_reap()
        raise
    finally:
        ours.close()
    status = WaitStatus(raw, Rusage.from_struct(usage))
    if not data and hung_up is None:
        return status  # in place: the target executed (execve closed the helper's end)
    exit_record = None
    whole = len(data) - len(data) % RECORD_LEN
    for at in range(0, whole, RECORD_LEN):
        try:
            rec = decode_record(data[at:at + RECORD_LEN])
        except UnknownRecordKind as e:
            raise HelperError(f"status: {e}") from None
        if isinstance(rec, ErrorRecord):
            child = ChildError.from_record(rec)
            child.exit_status = raw
            child.subject = subject_of(child, encoded.spec)
            raise child
        if isinstance(rec, ExitRecord):
            exit_record = rec
    if whole != len(data):
        raise HelperError(f"status: stream ended {len(data) - whole} bytes into a "
                          f"{RECORD_LEN}-byte record")
    if hung_up is not None:
        raise HelperError(f"{path} (pid {pid}) ended ({status}) without an error record, "
                          f"before it had the whole spec or the sync answer ({hung_up})")
    if exit_record is not None and encoded.shape != wire.IN_PLACE:
        return WaitStatus(exit_record.status, Rusage.from_exit_record(exit_record))
    return status
