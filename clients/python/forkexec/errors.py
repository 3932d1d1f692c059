"""What starting a sandboxed program can fail with.

- :class:`ChildError`: the helper reported a failed step (an error status record); nothing was
  executed. ``str()`` renders it as go-sandbox does: ``mount(3): operation not permitted``.
- :class:`SpecError`: the spec was refused before anything was spawned (the same refusal, fault
  and byte offset the helper would report), or a string holds a NUL byte.
- :class:`JsonError`: the JSON form (or a value given to :class:`~forkexec.Spec`) is not a spec.
- :class:`SyncError`: the sync callback raised; the helper was told to abort.
- :class:`HelperError`: the helper could not be found, spawned or talked to, or ended without
  saying why.

All derive from :class:`ForkexecError`.
"""

import os
from typing import TYPE_CHECKING, Optional, Union

from . import names

if TYPE_CHECKING:
    from .spec import Mount, MountOp, Spec
    from .status import ErrorRecord


class ForkexecError(Exception):
    """Base class of this package's errors."""


def errno_text(errno: int) -> str:
    """``strerror`` as Go prints a ``syscall.Errno``: first letter in lower case."""
    text = os.strerror(errno)
    return text[:1].lower() + text[1:]


def location_name(location: int) -> Optional[str]:
    """The name of an error location (``"mount"``), or ``None`` for an unknown number."""
    return names.LOCATIONS.get(location)


class ChildError(ForkexecError):
    """The helper's error record: which step failed, with what errno, at which index.

    Attributes:
        location: the location number (docs/spec.md, "Error locations").
        location_name: its name (``"mount(mkdir)"``), ``None`` for a number this client does
            not know.
        errno: the errno of the failed step (for ``spec`` errors, the fault's errno).
        index: which mount / rlimit / fd / map entry; the byte offset for ``spec`` errors.
        detail: the fault number for ``spec`` errors (location 34); for ``mount(mkdir)``
            what could not be made (0 the target, 1 a parent, 2 an empty file); else 0.
        exit_status: the raw wait status of the process that reported the error (the helper;
            in the detach shape the target), once reaped by :meth:`Runner.start`, else ``None``.
        subject: what the index refers to in the spec that failed, set by
            :meth:`Runner.start`: a mount's target, a bind's source (``mount(source)``), the
            program (``execve``), the rlimit's resource, the directory… or ``None``. ``str()``
            puts it after the location: ``mount(source)(1) /data: no such file or directory``.
    """

    def __init__(self, location: int, errno: int, index: int = 0, detail: int = 0) -> None:
        self.location = location
        self.errno = errno
        self.index = index
        self.detail = detail
        self.exit_status: Optional[int] = None
        self.subject: Optional[str] = None
        super().__init__(location, errno, index, detail)

    @classmethod
    def from_record(cls, record: "ErrorRecord") -> "ChildError":
        """The exception for an error status record."""
        return cls(record.location, record.errno, record.index, record.detail)

    @property
    def location_name(self) -> Optional[str]:
        """The location's name (``"mount"``), ``None`` for an unknown number."""
        return location_name(self.location)

    @property
    def fault(self) -> Optional[int]:
        """For ``spec`` errors, the fault number (``detail``); otherwise ``None``."""
        return self.detail if self.location == names.LOC_SPEC else None

    @property
    def fault_name(self) -> Optional[str]:
        """For ``spec`` errors, the fault's name (``"FdOutOfRange"``); otherwise ``None``."""
        if self.location != names.LOC_SPEC:
            return None
        entry = names.FAULTS.get(self.detail)
        return entry[0] if entry else None

    @property
    def exit_code(self) -> Optional[int]:
        """The exit code of the process that reported the error (125, 126 or 127), or
        ``None`` if it was not reaped or was killed by a signal."""
        if self.exit_status is None or not os.WIFEXITED(self.exit_status):
            return None
        return os.WEXITSTATUS(self.exit_status)

    def __str__(self) -> str:
        errno = errno_text(self.errno)
        if self.location == names.LOC_SPEC:
            fault = names.FAULTS.get(self.detail)
            what = fault[1] if fault else f"fault {self.detail}"
            return f"spec(offset {self.index}): {what} ({errno})"
        name = self.location_name
        if name is None:
            return f"unknown({self.location})({self.index}): {errno}"
        subject = f" {self.subject}" if self.subject else ""
        return f"{name}({self.index}){subject}: {errno}"

    def __repr__(self) -> str:
        return (f"ChildError(location={self.location}, errno={self.errno}, "
                f"index={self.index}, detail={self.detail})")


def _text(value: Union[str, bytes, int]) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else str(value)


def subject_of(error: ChildError, spec: "Spec") -> Optional[str]:
    """What ``error``'s location and index refer to in ``spec`` (a :class:`~forkexec.Spec`),
    as ``forkexec-run`` names it: the mount's target (``mount``, ``mount(mkdir)``,
    ``mount(path)``), what could not be opened (``mount(source)``: a bind's source or ``fd
    N``), the rlimit's resource, the program (``execve``), the work directory, the new root,
    the host or domain name, the cgroup; ``None`` for anything else or an index the spec does
    not have."""
    loc = names.LOCATIONS.get(error.location)
    index = error.index

    def nonempty(value: Union[str, bytes]) -> Optional[str]:
        return _text(value) if value else None

    def mount() -> "Optional[Union[Mount, MountOp]]":
        return spec.mounts[index] if 0 <= index < len(spec.mounts) else None

    if loc in ("mount", "mount(mkdir)", "mount(path)"):
        m = mount()
        return None if m is None else _text(m.target)
    if loc == "mount(source)":
        m = mount()
        fd = None if m is None else (getattr(m, "source_fd", None)
                                     if getattr(m, "source_fd", None) is not None
                                     else getattr(m, "content_fd", None))
        if fd is not None:
            return f"fd {fd}"
        return None if m is None else nonempty(m.source)
    if loc == "setrlimit":
        if not 0 <= index < len(spec.rlimits):
            return None
        return str(spec.rlimits[index].resource)
    if loc == "execve":
        if spec.exec_path is not None:
            return _text(spec.exec_path)
        if spec.exec_file is not None:
            return f"fd {spec.exec_file}"
        return _text(spec.args[0]) if spec.args else None
    if loc == "chdir":
        return nonempty(spec.work_dir)
    if loc in ("mount(tmpfs)", "mount(chdir)", "pivot_root"):
        return nonempty(spec.pivot_root)
    if loc == "sethostname":
        return _text(spec.host_name)
    if loc == "setdomainname":
        return _text(spec.domain_name)
    if loc == "cgroup":
        return nonempty(spec.cgroup)
    return None


class SpecError(ForkexecError, ValueError):
    """A spec the helper would refuse, refused before spawning it.

    Either a string with a NUL byte (``field`` names it, e.g. ``args[1]``; ``fault`` is
    ``None``), or a refusal by the decoder (``fault``, ``offset`` as the helper would report
    them; ``record`` names what sits at that offset: ``clone_flags``, ``mounts[2]``,
    ``header`` or ``end of spec``).
    """

    def __init__(self, fault: Optional[int] = None, offset: Optional[int] = None,
                 record: Optional[str] = None, field: Optional[str] = None) -> None:
        self.fault = fault
        self.offset = offset
        self.record = record
        self.field = field
        super().__init__(str(self))

    @property
    def fault_name(self) -> Optional[str]:
        """The fault's name (``"FdOutOfRange"``), ``None`` for a NUL byte."""
        return names.FAULTS[self.fault][0] if self.fault in names.FAULTS else None

    @property
    def errno(self) -> Optional[int]:
        """The errno the helper's ``spec`` error record would carry."""
        return names.FAULTS[self.fault][2] if self.fault in names.FAULTS else None

    def __str__(self) -> str:
        if self.field is not None:
            return f"spec: {self.field} contains a NUL byte"
        fault = names.FAULTS.get(self.fault) if self.fault is not None else None
        what = fault[1] if fault else f"fault {self.fault}"
        text = f"spec: {what} at byte {self.offset}"
        return f"{text} ({self.record})" if self.record else text


class JsonError(ForkexecError, ValueError):
    """The JSON form is not a spec. ``path`` is the key path (``mounts[0].flags[1]``; empty
    at the top level), ``message`` what is wrong there."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class HelperError(ForkexecError):
    """The helper could not be found, spawned or talked to, or it ended without saying why."""

    def __str__(self) -> str:
        return f"forkexec helper: {self.args[0] if self.args else ''}"


class SyncError(ForkexecError):
    """The sync callback raised, so the helper was told to abort and nothing ran.

    The callback's exception is ``__cause__`` (and ``error``); ``child_error`` is the helper's
    resulting error record (``sync_read(0): operation canceled``) when it sent one.
    """

    def __init__(self, error: BaseException, child_error: Optional[ChildError] = None) -> None:
        self.error = error
        self.child_error = child_error
        super().__init__(error)

    def __str__(self) -> str:
        return f"sync callback refused: {self.error}"
