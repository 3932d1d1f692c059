// Package forkexec starts sandboxed programs through the forkexec helper, with go-sandbox's
// pkg/forkexec API: a go-sandbox user switches by changing the import path. Runner has
// go-sandbox's fields with their meanings, Start returns the pid to wait for, and a failed
// step is a ChildError with go-sandbox's ErrorLocation names.
//
// Start does not fork a Go process into a sandbox: it spawns the static helper (docs/spec.md),
// writes it the Runner as a spec on a socket, and reads the helper's status records back
// ("The conversation" in docs/spec.md).
package forkexec

import (
	"syscall"

	"forkexec/pkg/mount"
	"forkexec/pkg/rlimit"
	"forkexec/pkg/spec"
)

// Runner is the configuration of one target: go-sandbox's fields, then forkexec's own.
type Runner struct {
	// argv and env of the target (no PATH search: Args[0] is the file, unless ExecFile
	// or ExecPath names it).
	Args []string
	Env  []string

	// ExecFile, when not 0, is an fd of this process to execute (execveat AT_EMPTY_PATH).
	ExecFile uintptr

	// RLimits are set with prlimit, in order.
	RLimits []rlimit.RLimit

	// Files: target fd i is this process's fd Files[i], or closed when Files[i] is
	// ^uintptr(0) (-1). Every other fd is closed. Empty: the target keeps fds 0-2.
	Files []uintptr

	// WorkDir is the target's working directory (inside the new root with PivotRoot).
	WorkDir string

	// Seccomp is loaded right before execve; it implies NoNewPrivs.
	Seccomp *syscall.SockFprog
	// SeccompStack holds more filters, loaded after Seccomp in order (stacked, as bwrap's
	// --add-seccomp-fd); every filter but the last must allow prctl.
	SeccompStack []*syscall.SockFprog

	// CloneFlags are the CLONE_NEW* namespaces to create.
	CloneFlags uintptr

	// Mounts are made in the new mount namespace, in order (mount.Builder builds them).
	// With PivotRoot their targets are inside the new root.
	Mounts []mount.SyscallParams

	// PivotRoot: a tmpfs is mounted here as the new root, the mounts are made in it, then
	// pivot_root, and the new root is made read-only (unless WritableRoot).
	PivotRoot string

	// HostName and DomainName are set in the new UTS namespace.
	HostName, DomainName string

	// UIDMappings / GIDMappings for a new user namespace.
	UIDMappings []syscall.SysProcIDMap
	GIDMappings []syscall.SysProcIDMap

	// CgroupFd, when not 0, is an fd of this process open on a cgroup v2 directory: the
	// target starts in it (clone3 CLONE_INTO_CGROUP, or cgroup.procs in place).
	CgroupFd uintptr

	// Credential: the target's uid, gid and groups.
	Credential *syscall.Credential

	// SyncFunc is called with the target's pid right before execve (after ids, mounts and
	// limits, before seccomp); an error aborts the start and is returned by Start.
	SyncFunc func(int) error

	// Ptrace: PTRACE_TRACEME before execve. The calling goroutine must be locked to its
	// OS thread (runtime.LockOSThread): that thread is the tracer.
	Ptrace bool

	// NoNewPrivs: PR_SET_NO_NEW_PRIVS (implied by Seccomp).
	NoNewPrivs bool

	// StopBeforeSeccomp: SIGSTOP itself right before loading seccomp (implied by Ptrace
	// with Seccomp); Start then returns without waiting for the execve.
	StopBeforeSeccomp bool

	// GIDMappingsEnableSetgroups leaves setgroups allowed in the new user namespace.
	GIDMappingsEnableSetgroups bool

	// DropCaps clears every capability set before execve.
	DropCaps bool

	// UnshareCgroupAfterSync unshares the cgroup namespace after SyncFunc returned.
	UnshareCgroupAfterSync bool

	// CTTY makes fd 0 the controlling terminal.
	CTTY bool

	// --- forkexec's own fields (not in go-sandbox) ---

	// Helper is the helper binary; empty: FindHelper.
	Helper string

	// ExecPath is the file to execute when it differs from Args[0].
	ExecPath string

	// CgroupPath is a cgroup v2 directory for the target (instead of CgroupFd).
	CgroupPath string

	// NoSetsid keeps the target in the caller's session (go-sandbox always calls setsid).
	NoSetsid bool

	// Detach makes the target this process's own child (CLONE_PARENT): Start returns its
	// pid, and the caller waits for it. The helper has exited by then and been reaped.
	Detach bool

	// Init (with CLONE_NEWPID): pid 1 is the helper's init, the target is pid 2; init
	// forwards signals and reaps orphans. Start returns the helper's pid, which ends the
	// way the target does.
	Init bool

	// DieWithParent: the helper and the target get SIGKILL when the thread that called
	// Start exits.
	DieWithParent bool

	// WritableRoot leaves the new root (PivotRoot's tmpfs) writable.
	WritableRoot bool

	// NewSessionKeyring: the target joins a new, empty session keyring, so it cannot read
	// the keys of this process's session keyring.
	NewSessionKeyring bool

	// ParentsFromMode: the parent directories mount operations make take bubblewrap's
	// modes (0755 less the group's / others' bits where the operation's mode gives them none).
	ParentsFromMode bool

	// Landlock confines the target (after no_new_privs, before seccomp): the rights in
	// HandledFS/HandledNet are denied unless a rule allows them beneath a path or on a port;
	// Scoped keeps abstract unix sockets and signals inside. Landlock needs NoNewPrivs (or
	// CAP_SYS_ADMIN).
	Landlock *spec.Landlock

	// Caps: the capabilities the target keeps instead of the usual ones (not with DropCaps).
	Caps *spec.Caps
}
