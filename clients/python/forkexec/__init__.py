"""Python client for the ``forkexec`` sandbox exec helper (pure standard library).

go-sandbox's ``pkg/forkexec`` forks and runs the sandbox chain in the child; here the child
half is the static ``forkexec`` helper binary, so this package only spawns it, writes the
binary spec (wire format v1, docs/spec.md) and answers its status records::

    from forkexec import Runner

    process = Runner(args=["/bin/echo", "hi"], files=[0, 1, 2],
                     clone_flags=["newuser", "newns"]).start()
    status, rusage = process.wait()

- :mod:`forkexec.spec`: :class:`Spec` and its JSON form; :class:`Mount`, :class:`MountOp`,
  :class:`Rlimit`, :class:`IdMap`, :class:`Credential`, :class:`SockFilter`.
- :mod:`forkexec.mount_ops`: builders of mount operations (``bind``, ``ro_bind``, ``tmpfs``,
  ``proc``, ``dev``, ``dir``, ``symlink``, ``file``, ``mask``…).
- :mod:`forkexec.wire`: :func:`encode` (canonical, byte-identical to the Rust client) and
  :func:`decode` (the helper's checks, same faults and offsets).
- :mod:`forkexec.status`: the 32-byte status records.
- :mod:`forkexec.runner`: :class:`Runner` and ``start``; :mod:`forkexec.process`:
  :class:`Process` with ``wait`` (``os.wait4``) → :class:`WaitStatus` ``(status, rusage)``.
- :mod:`forkexec.errors`: :class:`ChildError` (``mount(3): operation not permitted``),
  :class:`SpecError`, :class:`JsonError`, :class:`SyncError`, :class:`HelperError`.
- :mod:`forkexec.judge`: :class:`~forkexec.judge.Judge`, a run under limits on the whole
  sandbox with a verdict (docs/judge.md); :mod:`forkexec.cgroup`: per-run cgroups on v1, v2
  and hybrid machines.
- :mod:`forkexec.names`: the numbers and names of the wire format (locations, faults, flags).
"""

from .errors import (ChildError, ForkexecError, HelperError, JsonError, SpecError, SyncError,
                     errno_text, location_name)
from .helper import HELPER_ENV, HELPER_NAME, find_helper
from . import cgroup, judge, mount_ops
from .names import CLONE_FLAGS, LOCATIONS, MOUNT_FLAGS, MOUNT_KINDS, RESOURCES, RLIM_INFINITY
from .process import Process, Rusage, WaitStatus
from .runner import Runner
from .spec import Caps, Credential, IdMap, JoinNs, Landlock, Mount, MountOp, Rlimit, SockFilter, Spec
from .wire import Decoded, decode, encode

__version__ = "0.1.0"

__all__ = [
    "Runner", "Process", "WaitStatus", "Rusage",
    "Spec", "Mount", "MountOp", "mount_ops", "cgroup", "judge", "Rlimit", "IdMap", "Credential", "JoinNs", "Caps", "Landlock", "SockFilter",
    "RLIM_INFINITY",
    "encode", "decode", "Decoded",
    "ChildError", "SpecError", "JsonError", "SyncError", "HelperError", "ForkexecError",
    "errno_text", "location_name", "find_helper", "HELPER_ENV", "HELPER_NAME",
    "CLONE_FLAGS", "MOUNT_FLAGS", "MOUNT_KINDS", "RESOURCES", "LOCATIONS",
]
