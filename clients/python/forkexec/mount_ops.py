"""Builders for mount operations (:class:`~forkexec.MountOp`, wire record MOUNT_OP), the
common mounts of a sandbox without ``MS_*`` flags::

    from forkexec import Runner, mount_ops as m

    Runner(args=["/bin/sh"], clone_flags=["newuser", "newns", "newpid"], pivot_root="/tmp/r",
           mounts=[m.ro_bind("/usr"), m.symlink("usr/bin", "/bin"), m.proc(), m.dev(),
                   m.tmpfs("/tmp", size="64m", mode=0o1777),
                   m.file("/etc/hostname", "box\\n"), m.mask("/proc/kcore", optional=True)])

Every target is an absolute path inside the new root (``pivot_root``, else ``/``); a target
whose ``..`` climbs above that root is refused by the helper (``mount(path)``, EXDEV) before
any mount is made, and symlinks never lead out of it. Missing parents (mode 0755) and a missing
target are created. Modes are exact (an integer such as ``0o755``, or an octal string).

A ``*_fd`` builder's fd is an fd of this process: :meth:`Runner.start` passes it to the helper
with the same number (as ``files`` fds are), and refuses one the target's ``files`` table would
replace (``files[fd] != fd``).
"""

from typing import Iterable, Optional, Union

from .spec import MountOp, Str

Mode = Optional[Union[int, str]]

__all__ = ["bind", "ro_bind", "dev_bind", "bind_fd", "tmpfs", "proc", "dev", "mqueue", "dir",
           "symlink", "file", "file_from_fd", "bind_data", "bind_data_from_fd", "remount_ro",
           "mask", "overlay", "tmp_overlay", "ro_overlay", "chmod"]


def bind(source: Str, target: Optional[Str] = None, *, read_only: bool = False,
         dev: bool = False, optional: bool = False) -> MountOp:
    """A recursive bind of ``source`` on ``target`` (default: the same path), always nosuid,
    nodev unless ``dev``; ``read_only`` makes every submount read-only too; ``optional`` skips
    it when ``source`` does not exist (else: ``mount(source)``, ENOENT)."""
    return MountOp(type="bind", source=source, target=source if target is None else target,
                   readonly=read_only, dev=dev, optional=optional)


def ro_bind(source: Str, target: Optional[Str] = None, *, dev: bool = False,
            optional: bool = False) -> MountOp:
    """:func:`bind` with ``read_only=True``."""
    return bind(source, target, read_only=True, dev=dev, optional=optional)


def dev_bind(source: Str, target: Optional[Str] = None, *, read_only: bool = False,
             optional: bool = False) -> MountOp:
    """:func:`bind` with ``dev=True``: device nodes under it work."""
    return bind(source, target, read_only=read_only, dev=True, optional=optional)


def bind_fd(fd: int, target: Str, *, read_only: bool = False, dev: bool = False) -> MountOp:
    """A recursive bind of what ``fd`` (an fd of this process, e.g. an ``O_PATH`` one of a
    directory) refers to, on ``target``."""
    return MountOp(type="bind", source_fd=fd, target=target, readonly=read_only, dev=dev)


def tmpfs(target: Str, *, size: Union[int, str] = 0, mode: Mode = None,
          read_only: bool = False) -> MountOp:
    """A new tmpfs, nosuid and nodev: ``size`` in bytes (an integer or ``"64m"``; 0 = the
    kernel default), root directory ``mode`` (default 0o755)."""
    return MountOp(type="tmpfs", target=target, size=size, mode=mode, readonly=read_only)


def proc(target: Str = "/proc", cover: bool = False) -> MountOp:
    """A new proc of the target's pid namespace; nosuid, nodev, noexec. ``cover``:
    bubblewrap's read-only covers over its ``sys``, ``sysrq-trigger``, ``irq`` and ``bus``
    where the helper may write to them (host root)."""
    return MountOp(type="proc", target=target, cover=cover)


def dev(target: Str = "/dev") -> MountOp:
    """A minimal ``/dev``: a tmpfs with null, zero, full, random, urandom and tty bound from
    the host, a new devpts instance at ``pts`` (``ptmx`` linked to it), ``shm`` (tmpfs, 1777)
    and the ``fd``, ``stdin``, ``stdout``, ``stderr`` links to ``/proc/self/fd``."""
    return MountOp(type="dev", target=target)


def mqueue(target: Str = "/dev/mqueue") -> MountOp:
    """A new mqueue filesystem of the target's ipc namespace; nosuid, nodev, noexec."""
    return MountOp(type="mqueue", target=target)


def dir(target: Str, *, mode: Mode = None) -> MountOp:  # pylint: disable=redefined-builtin
    """A directory with exactly ``mode`` (default 0o755)."""
    return MountOp(type="dir", target=target, mode=mode)


def symlink(source: Str, target: Str) -> MountOp:
    """A symlink at ``target`` whose text is ``source`` (as ``ln -s source target``)."""
    return MountOp(type="symlink", source=source, target=target)


def file(target: Str, content: Optional[Str] = None, *,  # pylint: disable=redefined-builtin
         mode: Mode = None) -> MountOp:
    """A file with exactly ``mode`` (default 0o644) holding ``content`` (``str`` as UTF-8, or
    ``bytes``; none = an empty file)."""
    return MountOp(type="file", target=target, content=content, mode=mode)


def file_from_fd(fd: int, target: Str, *, mode: Mode = None) -> MountOp:
    """A file with exactly ``mode`` (default 0o644) holding what the helper reads from ``fd``
    (an fd of this process) to its end."""
    return MountOp(type="file", target=target, content_fd=fd, mode=mode)


def bind_data(target: Str, content: Optional[Str] = None, *, mode: Mode = None,
              read_only: bool = False) -> MountOp:
    """A file with exactly ``mode`` (default 0o600, as bubblewrap's ``--bind-data``) holding
    ``content``, made on a private tmpfs and bind-mounted on ``target``: unlike :func:`file`,
    ``target`` may be an existing file or on a read-only filesystem. ``read_only`` makes the
    bind read-only (``--ro-bind-data``)."""
    return MountOp(type="bind_data", target=target, content=content, mode=mode,
                   readonly=read_only)


def bind_data_from_fd(fd: int, target: Str, *, mode: Mode = None,
                      read_only: bool = False) -> MountOp:
    """:func:`bind_data` holding what the helper reads from ``fd`` (an fd of this process) to
    its end."""
    return MountOp(type="bind_data", target=target, content_fd=fd, mode=mode,
                   readonly=read_only)


def remount_ro(target: Str) -> MountOp:
    """Make the mount at ``target`` and every mount below it read-only."""
    return MountOp(type="remount_ro", target=target)


def chmod(target: Str, mode: Union[int, str]) -> MountOp:
    """Set the mode of ``target``, which must exist, to exactly ``mode`` (bubblewrap's
    ``--chmod``); nothing is created."""
    return MountOp(type="chmod", target=target, mode=mode)


def mask(target: Str, *, optional: bool = False) -> MountOp:
    """Hide ``target``: a read-only empty directory (over a directory) or empty file (over
    anything else) mounted on it; ``optional`` skips it when ``target`` does not exist."""
    return MountOp(type="mask", target=target, optional=optional)


def overlay(lower: Iterable[Str], upper: Str, work: Str, target: Str) -> MountOp:
    """An overlayfs on ``target`` of the host directories ``lower`` (topmost first) under
    ``upper``, which takes the writes; ``work`` is an empty directory on ``upper``'s
    filesystem for the kernel. nosuid, nodev. Every layer is an absolute host path, opened by
    the helper and given to the kernel as an fd (no escaping of ``:`` or ``,``)."""
    return MountOp(type="overlay", target=target, lower=list(lower), upper=upper, work=work)


def tmp_overlay(lower: Iterable[Str], target: Str) -> MountOp:
    """An overlayfs on ``target`` of the host directories ``lower`` (topmost first) whose
    writes go to a private tmpfs, gone when the sandbox ends. nosuid, nodev."""
    return MountOp(type="tmp_overlay", target=target, lower=list(lower))


def ro_overlay(lower: Iterable[Str], target: Str) -> MountOp:
    """A read-only overlayfs on ``target`` of the host directories ``lower`` (topmost first,
    at least two). nosuid, nodev."""
    return MountOp(type="ro_overlay", target=target, lower=list(lower))
