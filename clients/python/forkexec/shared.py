"""The shared-namespace run model of a warm sandboxes (``Sandbox(..., shared_namespaces=True)``;
docs/design.md, "Shared namespaces: one run at a time, cleaned up between runs").

The sandbox's server is ``forkexec --serve 3 --shared DIR...`` as pid 1 of the sandbox's own pid
namespace: each run is forked straight into the sandbox's namespaces (no namespace of its own),
one at a time; when the run's program has ended the server kills and reaps every other process
of the namespace and mounts a fresh tmpfs on each writable place in place of the old one, before
the run's exit record. This module completes the sandbox's and the runs' specs for it and keeps
the one-run-at-a-time rule on the client's side (the Rust client's ``shared`` module).
"""

import errno
import threading
from typing import Any, List, Sequence

from . import mount_ops
from .errors import HelperError
from .spec import Spec


class Busy:
    """Whether a shared sandbox has a run going: taken by a run, released once its exit record
    was read or it was closed (the server then kills it and cleans up before it reads the next
    request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def take(self) -> None:
        """Takes the sandbox for one run; raises :class:`SandboxBusy` while another is going."""
        if not self._lock.acquire(blocking=False):
            raise SandboxBusy()

    def release(self) -> None:
        """Frees the sandbox (once per :meth:`take`)."""
        self._lock.release()

    @property
    def busy(self) -> bool:
        """Whether a run is going."""
        return self._lock.locked()


class SandboxBusy(HelperError):
    """A shared-namespace sandbox runs one program at a time, and one is going (a
    :class:`HelperError`; ``errno`` is ``EBUSY``)."""

    def __init__(self) -> None:
        super().__init__("a shared-namespace sandbox runs one program at a time, and one is "
                         "going (wait for it or close it first)")
        self.errno = errno.EBUSY


def check_places(writable: Sequence[str]) -> None:
    """Refuses writable places the server could not reset safely: each must be an absolute
    path other than ``/``, without ``.`` or ``..`` parts, and none may lie in another."""
    for d in writable:
        parts = d.split("/")[1:]
        if (not d.startswith("/") or all(p == "" for p in parts)
                or any(p in (".", "..") for p in parts) or "\0" in d):
            raise HelperError(f"writable place {d!r}: a shared sandbox needs an absolute path "
                              "other than /, without . or ..")
    norm = [d.rstrip("/") + "/" for d in writable]
    for i, a in enumerate(norm):
        for j in range(i + 1, len(norm)):
            if a.startswith(norm[j]) or norm[j].startswith(a):
                raise HelperError(f"writable places {writable[i]!r} and {writable[j]!r}: "
                                  "one is inside the other")


def shape(spec: Spec, writable: Sequence[str]) -> None:
    """The sandbox's spec for a shared server: a pid namespace whose pid 1 is the server (no
    ``init``), the server's argv naming the writable places."""
    if "newpid" not in spec.clone_flags:
        spec.clone_flags = [*spec.clone_flags, "newpid"]
    spec.init = False  # the server is pid 1: every orphan is its child, no run can signal it
    spec.args = ["forkexec", "--serve", "3", "--shared", *writable]


def place_dirs(writable: Sequence[str]) -> List[Any]:
    """Before the read-only remount: the directories the server mounts on."""
    return [mount_ops.dir(d) for d in writable]


def first_tmpfs(writable: Sequence[str]) -> List[Any]:
    """After the read-only remount: the first run's fresh tmpfs (later ones are the server's)."""
    return [mount_ops.tmpfs(d, mode=0o1777) for d in writable]


def run_spec(spec: Spec) -> None:
    """A run's spec in a shared sandbox: no namespace of its own unless it asks, every
    capability dropped, a new session keyring; a mount only with its own mount namespace."""
    if spec.pivot_root:
        raise HelperError("pivot_root: a pooled sandbox's root is built once")
    if spec.cgroup:
        raise HelperError("cgroup: the path is not visible inside the sandbox; use cgroup_fd")
    if spec.mounts and "newns" not in spec.clone_flags:
        raise HelperError("mounts: a shared-namespace sandbox's runs share its mount namespace "
                          "(a mount would stay for the next run); ask for newns in the run too")
    spec.drop_caps = True
    spec.new_session_keyring = True
