"""Run untrusted code under limits on the whole sandbox and get a result with a verdict: the
Python twin of the Rust client's ``forkexec_client::judge`` (docs/judge.md).

::

    from forkexec import Runner
    from forkexec.judge import Judge, Limits

    result = Judge(Runner(args=["/usr/bin/python3", "-c", "while 1: pass"]),
                   Limits(time=1.0, memory=256 << 20)).run()
    print(result.status, result.time, result.memory)   # time_limit_exceeded 1.00 ...
    print(result.to_json())

A per-run cgroup (:mod:`forkexec.cgroup`) with the memory, pids and CPU quota limits; the
helper placed in it before it gets the spec; stdout and stderr through pipes read here, cut
at the output limit; a watcher that sleeps on a pidfd and every 5 ms compares the cgroup's
CPU time, the clock and the output with the limits, and on any limit kills every process of
the sandbox; the usage read from the cgroup (it survives the kill).

:meth:`Judge.run_in` judges one run of a warm sandbox (:class:`forkexec.server.Sandbox`) the
same way: the runner brings the run's own settings, the sandbox its namespaces, root and
mounts, and the run's init and program enter the per-run cgroup at the run's sync point
(:meth:`forkexec.server.Sandbox.run_in`) instead of the helper.
"""

import dataclasses
import json
import math
import os
import select
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Dict, Optional, Union

from . import cgroup as cg_mod
from .errors import ChildError, ForkexecError, errno_text

if TYPE_CHECKING:
    from .process import Process
    from .runner import Runner
    from .server import Sandbox, ServedProcess

NORMAL = "normal"
NONZERO_EXIT_STATUS = "nonzero_exit_status"
SIGNALLED = "signalled"
TIME_LIMIT_EXCEEDED = "time_limit_exceeded"
MEMORY_LIMIT_EXCEEDED = "memory_limit_exceeded"
OUTPUT_LIMIT_EXCEEDED = "output_limit_exceeded"
DANGEROUS_SYSCALL = "dangerous_syscall"
RUNNER_ERROR = "runner_error"
STATUSES = (NORMAL, NONZERO_EXIT_STATUS, SIGNALLED, TIME_LIMIT_EXCEEDED, MEMORY_LIMIT_EXCEEDED,
            OUTPUT_LIMIT_EXCEEDED, DANGEROUS_SYSCALL, RUNNER_ERROR)

TICK = 0.005


@dataclass
class Limits:
    """Limits on the whole sandbox; ``None`` is no limit. Times in seconds, sizes in bytes."""

    time: Optional[float] = None        # CPU time, user + system, of every process
    wall_time: Optional[float] = None
    memory: Optional[int] = None        # swap included
    pids: Optional[int] = None
    output: Optional[int] = None        # stdout + stderr
    cpu_quota: Optional[float] = None   # CPUs

    def any(self) -> bool:
        """Whether any limit is set."""
        return any(v is not None for v in dataclasses.astuple(self))


@dataclass
class JudgeResult:
    """What a judged run did (keys as in docs/judge.md, "The result")."""

    status: str
    exit_status: Optional[int] = None
    signal: Optional[int] = None
    limit: Optional[str] = None         # cpu, wall, memory, output
    time: float = 0.0
    wall_time: float = 0.0
    memory: int = 0
    setup_time: float = 0.0
    error: Optional[Dict[str, Any]] = None        # message, location, errno, errno_text, index
    cgroup: Optional[str] = None
    output_bytes: int = 0
    pids_limit_hit: bool = False
    stdout: bytes = field(default=b"", repr=False)
    stderr: bytes = field(default=b"", repr=False)

    def to_dict(self) -> Dict[str, Any]:
        """The result as JSON values (without the captured output)."""
        d = dataclasses.asdict(self)
        del d["stdout"], d["stderr"]
        return d

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _runner_error(message: str, setup_time: float,
                  child: Optional[ChildError] = None) -> "JudgeResult":
    err: Dict[str, Any] = {"message": message, "location": None, "errno": None, "errno_text": None,
           "index": None}
    if child is not None:
        err.update(location=child.location_name, errno=child.errno,
                   errno_text=errno_text(child.errno) if child.errno else None,
                   index=child.index)
    return JudgeResult(RUNNER_ERROR, setup_time=setup_time, error=err)


class _Reader(threading.Thread):
    """Reads one pipe to its end; keeps (or passes on) what fits under the shared limit."""

    def __init__(self, fd: int, sink: Any, limit: Optional[int], meter: Dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.fd, self.sink, self.limit, self.meter = fd, sink, limit, meter
        self.kept = bytearray()

    def run(self) -> None:
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        try:
            while True:
                if not poller.poll(50):
                    if self.meter["stop"]:
                        break
                    continue
                data = os.read(self.fd, 65536)
                if not data:
                    break
                with self.meter["lock"]:
                    before = self.meter["total"]
                    self.meter["total"] += len(data)
                allowed = len(data) if self.limit is None else \
                    max(0, min(len(data), self.limit - before))
                if allowed < len(data):
                    self.meter["exceeded"] = True
                chunk = data[:allowed]
                if not chunk:
                    continue
                if self.sink == "capture":
                    self.kept += chunk
                elif self.sink is not None and self.sink != "discard":
                    try:
                        self.sink.write(chunk)
                        self.sink.flush()
                    except (OSError, ValueError):
                        self.sink = "discard"
        finally:
            os.close(self.fd)


class Judge:
    """A judged run: a :class:`~forkexec.Runner` plus :class:`Limits`.

    ``cgroup`` is where the cgroup comes from: ``"fresh"`` (default, under
    ``cgroup_parent``), ``None`` for none (rlimits only), or a :class:`~forkexec.cgroup.Cgroup`
    the caller made. ``stdout``/``stderr``: ``"capture"`` (into the result), ``"discard"``, or
    a binary file object to pass it on to."""

    def __init__(self, runner: "Runner", limits: Optional[Limits] = None, *,
                 cgroup: Union[str, cg_mod.Cgroup, None] = "fresh",
                 cgroup_parent: str = cg_mod.DEFAULT_PARENT,
                 layout: Optional[cg_mod.Layout] = None,
                 stdout: Union[str, IO[bytes]] = "capture",
                 stderr: Union[str, IO[bytes]] = "capture") -> None:
        self.runner = runner
        self.limits = limits or Limits()
        self.cgroup = cgroup
        self.cgroup_parent = cgroup_parent
        self.layout = layout
        self.stdout = stdout
        self.stderr = stderr

    def run(self) -> JudgeResult:
        """Runs the program to its end (or a limit's); never raises for a sandbox that cannot
        be set up: that is a ``runner_error`` result."""
        return self._run_on(None)

    def run_in(self, sandbox: "Sandbox") -> JudgeResult:
        """:meth:`run` as one run of a warm sandbox (:meth:`forkexec.server.Sandbox.run`; a
        pool's next one: :meth:`forkexec.server.Pool.next_sandbox`). The per-run cgroup is
        entered by the run's init and program at its sync point
        (:meth:`forkexec.server.Sandbox.run_in`) instead of by the helper; limits, usage and
        verdicts are then the same as for a one-shot run. A cgroup this process may not
        make or enter is the same clear ``runner_error``; the program never runs without it."""
        return self._run_on(sandbox)

    def _run_on(self, sandbox: "Optional[Sandbox]") -> JudgeResult:
        began = time.monotonic()
        limits = self.limits
        runner = self.runner
        spec = runner.spec
        cg: Optional[cg_mod.Cgroup] = None
        own_cg = False
        if self.cgroup == "fresh":
            try:
                layout = self.layout or cg_mod.Layout.detect()
                cg = cg_mod.Cgroup.create(layout, self.cgroup_parent, cg_mod.Limits(
                    limits.memory, limits.pids, limits.cpu_quota))
                own_cg = True
            except OSError as e:
                return _runner_error(str(e) if isinstance(e, cg_mod.CgroupError)
                                     else f"cgroup: {e}", time.monotonic() - began)
        elif isinstance(self.cgroup, cg_mod.Cgroup):
            cg = self.cgroup
        else:
            for value, what in ((limits.memory, "a memory limit"), (limits.pids, "a pids limit"),
                                (limits.cpu_quota, "a CPU quota")):
                if value is not None:
                    return _runner_error(
                        f"{what} needs a cgroup, and cgroup=None was asked: without one only "
                        "rlimits apply (RLIMIT_AS for memory, per process)",
                        time.monotonic() - began)
        try:
            return self._run(runner, spec, cg, began, sandbox)
        finally:
            if own_cg and cg is not None:
                cg.remove()

    def _run(self, runner: "Runner", spec: Any, cg: Optional[cg_mod.Cgroup],
             began: float, sandbox: "Optional[Sandbox]") -> JudgeResult:
        limits = self.limits
        saved = (spec.files, spec.cgroup_fd, spec.rlimits, spec.init, runner.on_spawn)
        to_close = []
        readers = []
        meter: Dict[str, Any] = {"total": 0, "exceeded": False, "stop": False,
                                 "lock": threading.Lock()}
        try:
            files = list(spec.files)
            # Placed by the helper (one-shot); a sandbox's run at its sync point instead.
            if cg is not None and sandbox is None:
                into = cg.clone_into()
                if into and not spec.cgroup and spec.cgroup_fd is None:
                    fd = os.open(into, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                    to_close.append(fd)
                    spec.cgroup_fd = fd
                if cg.place_dirs():
                    runner.on_spawn = cg.place
            if limits.time is not None and not any(_is_cpu(r) for r in spec.rlimits):
                from .spec import Rlimit
                secs = math.ceil(limits.time) + (1 if cg is not None else 0)
                spec.rlimits = list(spec.rlimits) + [Rlimit("cpu", secs, secs + 1)]
            if limits.any() and "newpid" in [str(f) for f in spec.clone_flags] \
                    and not spec.detach:
                spec.init = True
            ends = []
            for fd, sink in ((1, self.stdout), (2, self.stderr)):
                if fd < len(files) and files[fd] < 0:
                    continue
                r, w = os.pipe2(os.O_CLOEXEC)
                while len(files) <= fd:
                    files.append(len(files))
                files[fd] = w
                ends.append(w)
                reader = _Reader(r, sink, limits.output, meter)
                readers.append((fd, reader))
                reader.start()
            spec.files = files
            seccomp = spec.seccomp is not None
            process: "Union[Process, ServedProcess]"
            try:
                if sandbox is None:
                    process = runner.start()
                elif cg is not None:
                    process = sandbox.run_in(runner, cg)
                else:
                    process = sandbox.run(runner)
            except ForkexecError as e:
                for w in ends:
                    os.close(w)
                meter["stop"] = True
                child = e if isinstance(e, ChildError) else None
                return _runner_error(str(e), time.monotonic() - began, child)
            finally:
                for w in ends:
                    try:
                        os.close(w)
                    except OSError:
                        pass
        finally:
            spec.files, spec.cgroup_fd, spec.rlimits, spec.init, runner.on_spawn = saved
            for fd in to_close:
                os.close(fd)
        setup_time = time.monotonic() - began
        ran = time.monotonic()
        reason = None
        while True:
            tick = TICK if limits.wall_time is None else \
                max(0.0, min(TICK, limits.wall_time - (time.monotonic() - ran)))
            status = process.wait_timeout(tick)
            if status is not None and (status.code is not None or status.signal is not None):
                break
            if reason is not None:
                continue
            if meter["exceeded"]:
                reason = "output"
            elif limits.time is not None and cg is not None and cg.cpu_time() >= limits.time:
                reason = "cpu"
            elif limits.wall_time is not None and time.monotonic() - ran >= limits.wall_time:
                reason = "wall"
            if reason is not None:
                _kill_all(cg, process)
        wall_time = time.monotonic() - ran
        if cg is not None:
            try:
                cg.kill()
            except OSError:
                pass
        meter["stop"] = True
        out = {1: b"", 2: b""}
        for fd, reader in readers:
            reader.join(0.5)
            out[fd] = bytes(reader.kept)
        usage = cg.usage() if cg is not None else cg_mod.Usage()
        ru = status.rusage
        cpu = usage.cpu if cg is not None else ru.user_time + ru.system_time
        # The cgroup's peak when there is one: ru_maxrss counts the runtime's own RSS from
        # before the helper's exec (its fork is a copy of the runtime).
        memory = usage.memory_peak if usage.memory_peak else ru.max_rss_kib * 1024
        verdict, limit = _verdict(reason, status.code, status.signal, cpu, limits,
                                  usage.oom_kills, usage.memory_limit_hits, seccomp)
        return JudgeResult(verdict, status.code, status.signal, limit, cpu, wall_time, memory,
                           setup_time, None, cg.kind if cg is not None else None,
                           meter["total"], usage.pids_limit_hits > 0, out[1], out[2])


def _is_cpu(rlimit: Any) -> Any:
    return rlimit.resource == "cpu"  # normalised to the name by Rlimit


def _kill_all(cg: Any, process: Any) -> Any:
    if cg is not None:
        try:
            cg.kill()
        except OSError:
            pass
    try:
        process.kill(signal.SIGKILL)
    except OSError:
        pass


def _verdict(reason: Any, code: Any, sig: Any, cpu: Any, limits: Any, oom_kills: Any,
             memory_limit_hits: Any, seccomp: Any) -> Any:
    if reason == "output":
        return OUTPUT_LIMIT_EXCEEDED, "output"
    if reason in ("cpu", "wall"):
        return TIME_LIMIT_EXCEEDED, reason
    success = code == 0
    if (limits.time is not None and cpu >= limits.time and not success) \
            or sig == signal.SIGXCPU:
        return TIME_LIMIT_EXCEEDED, "cpu"
    if oom_kills > 0 or (limits.memory is not None and memory_limit_hits > 0 and not success):
        return MEMORY_LIMIT_EXCEEDED, "memory"
    if sig == signal.SIGXFSZ:
        return OUTPUT_LIMIT_EXCEEDED, "output"
    if sig == signal.SIGSYS and seccomp:
        return DANGEROUS_SYSCALL, None
    if sig is not None:
        return SIGNALLED, None
    return (NORMAL if success else NONZERO_EXIT_STATUS), None
