"""Finding the ``forkexec`` helper binary."""

import os
import sys
from typing import Dict, Mapping, Union

#: An environment as ``os.posix_spawn`` takes it.
Environment = Union[Mapping[str, str], Mapping[bytes, bytes]]

#: Environment variable naming the helper binary.
HELPER_ENV = "FORKEXEC_HELPER"
#: The helper's file name.
HELPER_NAME = "forkexec"


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_helper() -> str:
    """The helper binary: ``$FORKEXEC_HELPER`` if set; else a ``forkexec`` file next to the
    running script (``sys.argv[0]``); else ``target/release/forkexec`` of the source checkout
    this package sits in (``clients/python/forkexec`` → the repository root); else the first
    ``forkexec`` on ``PATH``. Raises :class:`~forkexec.errors.HelperError` listing every place
    looked at."""
    from .errors import HelperError

    path = os.environ.get(HELPER_ENV)
    if path:
        return path
    looked = [f"${HELPER_ENV} (unset)"]
    candidates = []
    if sys.argv and sys.argv[0]:
        candidates.append(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])),
                                       HELPER_NAME))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    candidates.append(os.path.join(repo, "target", "release", HELPER_NAME))
    for candidate in candidates:
        if _executable(candidate):
            return candidate
        looked.append(candidate)
    search = os.environ.get("PATH", os.defpath)
    for d in search.split(os.pathsep):
        if d:
            candidate = os.path.join(d, HELPER_NAME)
            if _executable(candidate):
                return candidate
    looked.append(f"$PATH ({search})")
    raise HelperError(f"cannot find the `{HELPER_NAME}` binary; set {HELPER_ENV} or pass "
                      f"helper= (looked at: {', '.join(looked)})")


_NO_ENVIRONMENT: Dict[str, str] = {}
#: Whether the file at a path starts with the ELF magic, looked at once per path.
_ELF_PATHS: Dict[str, bool] = {}


def helper_environment(path: str) -> Environment:
    """The environment a runner spawns the helper at ``path`` with when not told one
    (``Runner(helper_env=...)``): an **empty** one when the file is an ELF executable (the
    helper reads nothing from its environment; the target's is the spec's ``env``), so that
    neither CPython (a ``KEY=value`` object per variable on every spawn) nor the kernel (the
    copy at ``execve``) does work for nothing; **this process's** environment
    (``os.environ``, changes included) for anything else — a ``#!`` wrapper script (one that
    runs the helper under ``strace`` or ``gdb`` needs ``PATH``, ``HOME``…), a file we cannot
    read, a name without ``/`` (looked up on ``PATH``). The file's first four bytes are read
    once per path for the life of the process."""
    elf = _ELF_PATHS.get(path)
    if elf is None:
        elf = False
        if "/" in path:
            try:
                with open(path, "rb", buffering=0) as f:
                    elf = f.read(4) == b"\x7fELF"
            except OSError:
                pass
        _ELF_PATHS[path] = elf
    if elf:
        return _NO_ENVIRONMENT
    return encoded(os.environ)


def encoded(env: Environment) -> Environment:
    """``os.environ`` as it keeps itself encoded (a plain dict of bytes, which
    ``posix_spawn`` reads without calling back into Python for every variable: ~100 µs less
    for 40 variables); any other mapping as it is."""
    if env is os.environ:
        data = getattr(os.environ, "_data", None)
        if isinstance(data, dict):
            return data
    return env
