#!/usr/bin/env python3
"""make bench's Python runners: the forkexec helper driven from `subprocess`, and through the
Python client (clients/python: `Runner.run()`, start and wait), next to Python spawning the
payload directly. The Rust driver (bench/src/main.rs) interleaves these with its own runners:
it writes one runner name per line, this process does one spawn+wait, timed here with
time.perf_counter_ns, and answers `ok NANOSECONDS`.

    spawn.py serve HELPER PAYLOAD EMPTY_SPEC SANDBOX_SPEC

The specs are pre-encoded by the driver; the client's runners decode them into a `Spec`
(outside the timed region, as the driver's Rust client rows build their `Runner`). Every
child gets an empty environment, as the driver's own runners do.
"""
import _socket
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients",
                                "python"))
from forkexec import Runner, wire  # noqa: E402


def direct(payload):
    subprocess.run([payload], env={}, check=True)


def helper(path, spec):
    ours, theirs = socket.socketpair()
    with ours:
        with theirs:
            fd = theirs.fileno()
            proc = subprocess.Popen([path, "--spec-fd", str(fd)], pass_fds=(fd,), env={})
        ours.sendall(spec)
        stream = bytearray()
        while chunk := ours.recv(4096):
            stream += chunk
    status = proc.wait()
    for off in range(0, len(stream) - 31, 32):
        kind, location, errno, index = struct.unpack_from("<IIiI", stream, off)
        if kind == 1:
            raise RuntimeError(f"helper error: location {location}, errno {errno}, index {index}")
    if status != 0:
        raise RuntimeError(f"helper exited with {status}")


def spawned(path, spec):
    """What the client's ``Runner.run`` does at the least, without the client: a
    socketpair (``_socket``'s objects), the spec written into it, ``os.posix_spawn`` of the
    helper with an empty environment and its end kept by a ``dup2(fd, fd)`` file action,
    ``os.wait4``, then what the helper left on the stream read. The Python client's own cost
    is the client row minus this one."""
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        ours.sendall(spec)  # a small spec: the socket's buffer takes it at once
        fd = theirs.fileno()
        pid = os.posix_spawn(path, [path, "--spec-fd", str(fd)], {},
                             file_actions=[(os.POSIX_SPAWN_DUP2, fd, fd)])
        theirs.close()
        _, status, _ = os.wait4(pid, 0)
        stream = ours.recv(4096)
    finally:
        theirs.close()
        ours.close()
    if stream or status != 0:
        raise RuntimeError(f"helper: status {status}, {len(stream)} bytes of records")


def client(runner):
    status = runner.run()
    if not status.success:
        raise RuntimeError(f"client: target {status}")


def serve(helper_path, payload, empty_path, sandbox_path):
    with open(empty_path, "rb") as f:
        empty = f.read()
    with open(sandbox_path, "rb") as f:
        sandbox = f.read()
    empty_runner = Runner(wire.decode(empty).spec, helper=helper_path)
    no_setsid_runner = Runner(wire.decode(empty).spec, helper=helper_path, setsid=False)
    sandbox_runner = Runner(wire.decode(sandbox).spec, helper=helper_path)
    runners = {
        "ping": lambda: None,
        "direct": lambda: direct(payload),
        "empty": lambda: helper(helper_path, empty),
        "spawned_empty": lambda: spawned(helper_path, empty),
        "sandbox": lambda: helper(helper_path, sandbox),
        "client_empty": lambda: client(empty_runner),
        "client_empty_no_setsid": lambda: client(no_setsid_runner),
        "client_sandbox": lambda: client(sandbox_runner),
    }
    for line in sys.stdin:
        name = line.strip()
        if name == "quit":
            break
        try:
            start = time.perf_counter_ns()
            runners[name]()
            took = time.perf_counter_ns() - start
            print(f"ok {took}", flush=True)
        except Exception as e:  # reported to the driver, which stops
            print(f"err {type(e).__name__}: {e}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "serve":
        sys.exit(__doc__)
    serve(*sys.argv[2:])
