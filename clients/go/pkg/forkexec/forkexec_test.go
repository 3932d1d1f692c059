package forkexec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"forkexec/pkg/mount"
	"forkexec/pkg/rlimit"
	"forkexec/pkg/spec"
)

// End-to-end tests: every one runs the real helper ($FORKEXEC_HELPER; clients/go/run-tests.sh
// sets it and runs the compiled tests as root and as an ordinary user).

func TestMain(m *testing.M) {
	if os.Getenv(HelperEnv) == "" {
		fmt.Fprintln(os.Stderr, "forkexec tests: set FORKEXEC_HELPER to the helper binary (make helper)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func waitPid(t *testing.T, pid int) syscall.WaitStatus {
	t.Helper()
	ws, err := wait(pid)
	if err != nil {
		t.Fatalf("wait4(%d): %v", pid, err)
	}
	return ws
}

func wantExit(t *testing.T, ws syscall.WaitStatus, code int) {
	t.Helper()
	if !ws.Exited() || ws.ExitStatus() != code {
		t.Fatalf("ended with %#x (exited %v, code %d, signal %v), want exit %d", uint32(ws), ws.Exited(), ws.ExitStatus(), ws.Signal(), code)
	}
}

// output runs r with fd 1 on a pipe (and fd 0, 2 as ours) and returns what the target
// wrote and how it ended (pid is waited for).
func output(t *testing.T, r *Runner) (string, syscall.WaitStatus) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	r.Files = []uintptr{0, pw.Fd(), 2}
	pid, err := r.Start()
	pw.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	out, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), waitPid(t, pid)
}

// userns is a new user namespace with us mapped to root (works as root and unprivileged).
func userns(r *Runner, flags uintptr) *Runner {
	r.CloneFlags |= syscall.CLONE_NEWUSER | flags
	r.UIDMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
	r.GIDMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	return r
}

func childErr(t *testing.T, err error) ChildError {
	t.Helper()
	var ce ChildError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a ChildError", err, err)
	}
	return ce
}

// noChildren checks that Start left no child behind (every process it made was reaped).
func noChildren(t *testing.T) {
	t.Helper()
	var ws syscall.WaitStatus
	if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); err != syscall.ECHILD {
		t.Fatalf("a child is left behind: wait4 = %d, %v", pid, err)
	}
}

func TestInPlaceExitCodeAndEnv(t *testing.T) {
	out, ws := output(t, &Runner{Args: []string{"/bin/sh", "-c", `echo "$A"; exit 7`}, Env: []string{"A=x y"}})
	wantExit(t, ws, 7)
	if out != "x y\n" {
		t.Fatalf("output %q", out)
	}
}

func TestExecveNotFoundIsAChildError(t *testing.T) {
	_, err := (&Runner{Args: []string{"/nonexistent/prog"}}).Start()
	ce := childErr(t, err)
	if ce.Location != LocExecve || ce.Err != syscall.ENOENT || ce.Index != 0 {
		t.Fatalf("%#v", ce)
	}
	if err.Error() != "execve: no such file or directory" || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("%q", err.Error())
	}
	noChildren(t)
}

func TestSpecRefusedByTheHelper(t *testing.T) {
	// A host name without a new UTS namespace: Conflict at the HOST_NAME record (byte 30).
	_, err := (&Runner{Args: []string{"/bin/true"}, HostName: "box"}).Start()
	ce := childErr(t, err)
	if ce.Location != LocSpec || ce.Index != 30 || ce.Detail != 16 || ce.Err != syscall.EINVAL {
		t.Fatalf("%#v", ce)
	}
	if got := err.Error(); got != "spec(offset 30): conflicting fields (invalid argument)" {
		t.Fatalf("%q", got)
	}
	noChildren(t)
}

func TestErrorTexts(t *testing.T) {
	for _, c := range []struct {
		e    ChildError
		text string
	}{
		{ChildError{Err: syscall.EPERM, Location: LocMount, Index: 3}, "mount(3): operation not permitted"},
		{ChildError{Err: syscall.EACCES, Location: LocMountMkdir, Index: 1}, "mount(mkdir)(1): permission denied"},
		{ChildError{Err: syscall.EPERM, Location: LocSetRlimit}, "setrlimit: operation not permitted"},
		{ChildError{Err: syscall.EINVAL, Location: 99, Index: 2}, "unknown(99)(2): invalid argument"},
		{ChildError{Err: syscall.EBADF, Location: LocSpec, Index: 45, Detail: 12}, "spec(offset 45): fd out of range (bad file descriptor)"},
		{ChildError{Err: syscall.ENOENT, Location: LocMountSource, Index: 2}, "mount(source)(2): no such file or directory"},
	} {
		if got := c.e.Error(); got != c.text {
			t.Errorf("%#v: %q, want %q", c.e, got, c.text)
		}
	}
	if LocExecve != 32 || LocSpec != 34 || LocMountSource != 49 || LocCgroup != 43 {
		t.Fatal("location numbers moved")
	}
}

func TestClosedFdIsRefusedBeforeSpawning(t *testing.T) {
	f, _ := os.Open("/dev/null")
	fd := f.Fd()
	f.Close()
	_, err := (&Runner{Args: []string{"/bin/true"}, Files: []uintptr{0, 1, 2, fd}}).Start()
	if err == nil || !strings.Contains(err.Error(), "Files[3]") {
		t.Fatalf("%v", err)
	}
}

func TestClosedTargetFd(t *testing.T) {
	// ^uintptr(0) closes target fd 2: the shell's write to it fails.
	pr, pw, _ := os.Pipe()
	defer pr.Close()
	pid, err := (&Runner{Args: []string{"/bin/sh", "-c", "echo x >&2 || echo closed"},
		Files: []uintptr{0, pw.Fd(), ^uintptr(0)}}).Start()
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(pr)
	waitPid(t, pid)
	if !strings.HasSuffix(string(out), "closed\n") {
		t.Fatalf("%q", out)
	}
}

func TestSyncFuncGetsThePidAndCanRefuse(t *testing.T) {
	var got int
	r := &Runner{Args: []string{"/bin/true"}, SyncFunc: func(pid int) error { got = pid; return nil }}
	pid, err := r.Start()
	if err != nil {
		t.Fatal(err)
	}
	wantExit(t, waitPid(t, pid), 0)
	if got != pid {
		t.Fatalf("SyncFunc got %d, Start returned %d", got, pid)
	}

	refusal := errors.New("no cgroup for you")
	r = &Runner{Args: []string{"/bin/true"}, SyncFunc: func(int) error { return refusal }}
	if _, err := r.Start(); err != refusal {
		t.Fatalf("Start: %v, want SyncFunc's error", err)
	}
	noChildren(t)
}

func TestSyncFuncInACloneGetsThePidRecordsPid(t *testing.T) {
	var got int
	r := userns(&Runner{Args: []string{"/bin/sh", "-c", "echo $$"},
		SyncFunc: func(pid int) error { got = pid; return nil }}, syscall.CLONE_NEWPID)
	out, ws := output(t, r)
	wantExit(t, ws, 0)
	if out != "1\n" {
		t.Fatalf("pid inside %q", out)
	}
	// The pid the runtime can use: the target's pid in our namespace, a process that
	// existed (it is gone now), not 1 and not the helper's.
	if got <= 1 {
		t.Fatalf("SyncFunc got pid %d", got)
	}
}

func TestSupervisedEndsLikeTheTarget(t *testing.T) {
	r := userns(&Runner{Args: []string{"/bin/sh", "-c", "id -u; exit 3"}}, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS)
	out, ws := output(t, r)
	wantExit(t, ws, 3)
	if out != "0\n" {
		t.Fatalf("uid inside %q", out)
	}
	// Killed by a signal: the helper ends with the same signal.
	r = userns(&Runner{Args: []string{"/bin/sh", "-c", "kill -KILL $$"}}, 0)
	r.Init = true
	r.CloneFlags |= syscall.CLONE_NEWPID
	_, ws = output(t, r)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("ended %#x, want SIGKILL", uint32(ws))
	}
}

func TestInitRunsTheTargetAsPid2(t *testing.T) {
	r := userns(&Runner{Args: []string{"/bin/sh", "-c", "echo $$"}, Init: true}, syscall.CLONE_NEWPID)
	out, ws := output(t, r)
	wantExit(t, ws, 0)
	if out != "2\n" {
		t.Fatalf("pid inside %q", out)
	}
}

func TestDetachedTargetIsOurChild(t *testing.T) {
	r := userns(&Runner{Args: []string{"/bin/sh", "-c", "exec cat /proc/self/stat"}, Detach: true}, syscall.CLONE_NEWNS)
	out, ws := output(t, r)
	wantExit(t, ws, 0)
	// Field 4 of /proc/self/stat is the parent pid: this test process, not the helper.
	f := strings.Fields(out)
	if len(f) < 4 || f[3] != strconv.Itoa(os.Getpid()) {
		t.Fatalf("stat %q, want ppid %d", out, os.Getpid())
	}
	noChildren(t) // the helper was reaped by Start
}

// The die-with-parent case runs in a child process of the test (this binary again): it
// starts the target and exits without waiting, and the target must die with it.
func TestDieWithParent(t *testing.T) {
	if os.Getenv("FORKEXEC_GO_TEST_DIE") == "1" {
		pid, err := (&Runner{Args: []string{"/bin/sleep", "60"}, DieWithParent: true}).Start()
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(pid)
		os.Exit(0)
	}
	// Orphans of our descendants become our children, so the target can be waited for.
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0); e != 0 {
		t.Fatal(e)
	}
	defer syscall.RawSyscall(syscall.SYS_PRCTL, 36, 0, 0)
	cmd := exec.Command(os.Args[0], "-test.run=^TestDieWithParent$")
	cmd.Env = append(os.Environ(), "FORKEXEC_GO_TEST_DIE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("%q", out)
	}
	ws := waitPid(t, pid)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("ended %#x, want SIGKILL from the parent-death signal", uint32(ws))
	}
}

func TestRlimits(t *testing.T) {
	rl := rlimit.RLimits{OpenFile: 17, DisableCore: true}
	out, ws := output(t, &Runner{Args: []string{"/bin/sh", "-c", "ulimit -n; ulimit -c"}, RLimits: rl.PrepareRLimit()})
	wantExit(t, ws, 0)
	if out != "17\n0\n" {
		t.Fatalf("%q", out)
	}
	if rl.String() != "RLimits[OpenFile[17:17],Core[0 B:0 B]]" {
		t.Fatalf("%s", rl.String())
	}
}

// go-sandbox's container recipe, unchanged but for the import path.
func TestGoSandboxStyleContainer(t *testing.T) {
	root := t.TempDir()
	os.Chmod(root, 0o755)
	mb := mount.NewDefaultBuilder().FilterNotExist().WithTmpfs("tmp", "size=8m").WithProc()
	mounts, err := mb.Build()
	if err != nil {
		t.Fatal(err)
	}
	r := userns(&Runner{
		Args:       []string{"/bin/sh", "-c", "echo $$ $(hostname) $(pwd); touch /tmp/x && ls /tmp; (touch /x) 2>/tmp/err || echo ro"},
		Env:        []string{"PATH=/usr/bin:/bin"},
		WorkDir:    "/tmp",
		Mounts:     mounts,
		PivotRoot:  root,
		HostName:   "box",
		DomainName: "box",
		NoNewPrivs: true,
		DropCaps:   true,
	}, syscall.CLONE_NEWNS|syscall.CLONE_NEWPID|syscall.CLONE_NEWUTS|syscall.CLONE_NEWIPC|syscall.CLONE_NEWNET|0x02000000 /* CLONE_NEWCGROUP */)
	out, ws := output(t, r)
	wantExit(t, ws, 0)
	if out != "1 box /tmp\nx\nro\n" {
		t.Fatalf("%q", out)
	}
}

func TestMountOperations(t *testing.T) {
	root := t.TempDir()
	os.Chmod(root, 0o755)
	src := t.TempDir()
	os.Chmod(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("from fd\n"), 0o644)
	dir, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	b := mount.NewBuilder()
	for _, p := range []string{"/usr", "/bin", "/lib", "/lib64"} {
		b.WithOp(p, mount.Op{Kind: mount.KindBind, Source: p, Readonly: true, Optional: true})
	}
	b.WithOp("/data", mount.Op{Kind: mount.KindBind, Fd: dir.Fd(), Readonly: true}).
		WithOp("/proc", mount.Op{Kind: mount.KindProc}).
		WithOp("/dev", mount.Op{Kind: mount.KindDev}).
		WithOp("/tmp", mount.Op{Kind: mount.KindTmpfs, Mode: 0o1777, Size: 1 << 20}).
		WithOp("/work", mount.Op{Kind: mount.KindDir, Mode: 0o700}).
		WithOp("/etc/motd", mount.Op{Kind: mount.KindFile, Content: []byte("hi\n")}).
		WithOp("/sh", mount.Op{Kind: mount.KindSymlink, Source: "bin/sh"}).
		WithOp("/proc/kcore", mount.Op{Kind: mount.KindMask, Optional: true})
	mounts, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	r := userns(&Runner{
		Args:      []string{"/sh", "-c", "cat /etc/motd /data/f; stat -c %a /work /tmp /etc/motd; ls /dev/null; touch /data/g 2>/dev/null || echo ro"},
		Mounts:    mounts,
		PivotRoot: root,
	}, syscall.CLONE_NEWNS|syscall.CLONE_NEWPID)
	out, ws := output(t, r)
	wantExit(t, ws, 0)
	if out != "hi\nfrom fd\n700\n1777\n644\n/dev/null\nro\n" {
		t.Fatalf("%q", out)
	}

	// A missing bind source without Optional: mount(source), ENOENT, index = its entry.
	b = mount.NewBuilder().WithOp("/tmp", mount.Op{Kind: mount.KindTmpfs}).
		WithOp("/x", mount.Op{Kind: mount.KindBind, Source: "/nonexistent/dir"})
	mounts, _ = b.Build()
	_, err = userns(&Runner{Args: []string{"/bin/true"}, Mounts: mounts, PivotRoot: root}, syscall.CLONE_NEWNS).Start()
	ce := childErr(t, err)
	if ce.Location != LocMountSource || ce.Err != syscall.ENOENT || ce.Index != 1 {
		t.Fatalf("%v (%#v)", err, ce)
	}
	noChildren(t)
}

func TestCgroupRecords(t *testing.T) {
	// CGROUP_PATH (19): a directory that does not exist; location cgroup, index 0.
	_, err := (&Runner{Args: []string{"/bin/true"}, CgroupPath: "/nonexistent/cgroup"}).Start()
	ce := childErr(t, err)
	if ce.Location != LocCgroup || ce.Err != syscall.ENOENT || ce.Index != 0 {
		t.Fatalf("%v (%#v)", err, ce)
	}
	// CGROUP_FD (20): a directory that is not a cgroup: it has no cgroup.procs (index 1).
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	_, err = (&Runner{Args: []string{"/bin/true"}, CgroupFd: dir.Fd()}).Start()
	ce = childErr(t, err)
	if ce.Location != LocCgroup || ce.Index != 1 {
		t.Fatalf("%v (%#v)", err, ce)
	}
	// Both: refused as a spec conflict at the later record (CGROUP_FD, byte 55: 30 + 8 + 17).
	_, err = (&Runner{Args: []string{"/bin/true"}, CgroupPath: "/sys/fs/cgroup/x", CgroupFd: dir.Fd()}).Start()
	ce = childErr(t, err)
	if ce.Location != LocSpec || ce.Detail != 16 || ce.Index != 55 {
		t.Fatalf("%v (%#v)", err, ce)
	}
	noChildren(t)
}

func TestPtraceStopsAtExec(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, err := (&Runner{Args: []string{"/bin/true"}, Ptrace: true}).Start()
	if err != nil {
		t.Fatal(err)
	}
	ws := waitPid(t, pid)
	if !ws.Stopped() || ws.StopSignal() != syscall.SIGTRAP {
		t.Fatalf("%#x, want a SIGTRAP stop at exec", uint32(ws))
	}
	if err := syscall.PtraceCont(pid, 0); err != nil {
		t.Fatal(err)
	}
	wantExit(t, waitPid(t, pid), 0)
}

func TestStopBeforeSeccompReturnsBeforeExec(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// ret ALLOW: a filter that allows everything.
	filter := []syscall.SockFilter{{Code: 0x06, K: 0x7fff0000}}
	pid, err := (&Runner{Args: []string{"/bin/true"}, Ptrace: true,
		Seccomp: &syscall.SockFprog{Len: 1, Filter: &filter[0]}}).Start()
	if err != nil {
		t.Fatal(err)
	}
	// Stopped by itself (SIGSTOP) before seccomp, then the exec's SIGTRAP.
	for _, sig := range []syscall.Signal{syscall.SIGSTOP, syscall.SIGTRAP} {
		ws := waitPid(t, pid)
		if !ws.Stopped() || ws.StopSignal() != sig {
			t.Fatalf("%#x, want a %v stop", uint32(ws), sig)
		}
		if err := syscall.PtraceCont(pid, 0); err != nil {
			t.Fatal(err)
		}
	}
	wantExit(t, waitPid(t, pid), 0)
}

// denyOne is a filter that returns ERRNO(EPERM) for syscall nr (x86_64) and allows the rest.
func denyOne(nr uint32) *syscall.SockFprog {
	f := []syscall.SockFilter{
		{Code: 0x20, K: 0},                // ld [0]: seccomp_data.nr
		{Code: 0x15, Jt: 0, Jf: 1, K: nr}, // jeq nr
		{Code: 0x06, K: 0x00050000 | 1},   // ret ERRNO(EPERM)
		{Code: 0x06, K: 0x7fff0000},       // ret ALLOW
	}
	return &syscall.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
}

func TestSeccompStackLoadsEveryFilterInOrder(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the filters use x86_64 syscall numbers")
	}
	const execve, prctl = 59, 157
	allow := []syscall.SockFilter{{Code: 0x06, K: 0x7fff0000}}
	allowAll := &syscall.SockFprog{Len: 1, Filter: &allow[0]}
	// The second filter is loaded too: it refuses the helper's execve.
	_, err := (&Runner{Args: []string{"/bin/true"}, Seccomp: allowAll,
		SeccompStack: []*syscall.SockFprog{denyOne(execve)}}).Start()
	ce := childErr(t, err)
	if ce.Location != LocExecve || ce.Err != syscall.EPERM {
		t.Fatalf("%v, want execve: EPERM", err)
	}
	// In order: a first filter that refuses prctl stops the second one (index 1).
	_, err = (&Runner{Args: []string{"/bin/true"},
		SeccompStack: []*syscall.SockFprog{denyOne(prctl), allowAll}}).Start()
	ce = childErr(t, err)
	if ce.Location != LocSeccomp || ce.Index != 1 || ce.Err != syscall.EPERM {
		t.Fatalf("%v, want seccomp(1): EPERM", err)
	}
	noChildren(t)
}

func TestEncodeIsTheSpecStartSends(t *testing.T) {
	b, err := (&Runner{Args: []string{"/bin/true"}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	// crates/spec/vectors/minimal.hex
	if fmt.Sprintf("%x", b) != "46585350010000001e000000010000000a0000002f62696e2f7472756500" {
		t.Fatalf("%x", b)
	}
	if _, err := (&Runner{Args: []string{"a\x00b"}}).Encode(); err == nil {
		t.Fatal("a NUL inside an argument was encoded")
	}
}

// startReady starts r with fd 1 on a pipe and returns once the target wrote a line.
func startReady(t *testing.T, r *Runner) int {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	r.Files = []uintptr{0, pw.Fd(), 2}
	pid, err := r.Start()
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("%q, %v", buf, err)
	}
	return pid
}

// A signal sent to a supervising helper is forwarded; a pid-1 target only gets it when it
// handles it (docs/spec.md, "Process shapes"), so this target traps SIGTERM.
func TestSignalForwardedToASupervisedTarget(t *testing.T) {
	r := userns(&Runner{Args: []string{"/bin/sh", "-c", `trap "exit 9" TERM; echo ready; while :; do sleep 0.05; done`}},
		syscall.CLONE_NEWPID)
	pid := startReady(t, r)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wantExit(t, waitPid(t, pid), 9)
}

// With init the target is pid 2: a forwarded signal's default action applies.
func TestSignalForwardedByInit(t *testing.T) {
	r := userns(&Runner{Args: []string{"/bin/sh", "-c", "echo ready; exec sleep 60"}, Init: true},
		syscall.CLONE_NEWPID)
	pid := startReady(t, r)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ws := waitPid(t, pid)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("ended %#x, want SIGTERM", uint32(ws))
	}
}

// Landlock: the target writes only beneath the paths its rules allow, and without the rule
// for a directory it cannot write there either.
func TestLandlockConfinesWrites(t *testing.T) {
	open, shut := t.TempDir(), t.TempDir()
	rule := func(path string, access uint64) spec.LandlockPath {
		return spec.LandlockPath{Access: access, Path: path}
	}
	readExec := spec.LandlockFSRead | 0x1 // read_file, read_dir and execute (0x1)
	script := `echo a > "$0/a" && echo wrote; if echo b 2>&- > "$1/b"; then echo escaped; else echo refused; fi`
	r := &Runner{Args: []string{"/bin/sh", "-c", script, open, shut}, NoNewPrivs: true,
		Landlock: &spec.Landlock{HandledFS: spec.LandlockFSKnown,
			Paths: []spec.LandlockPath{rule("/", readExec), rule(open, spec.LandlockFSRead|spec.LandlockFSWrite)}}}
	out, ws := output(t, r)
	wantExit(t, ws, 0)
	if out != "wrote\nrefused\n" {
		t.Errorf("output %q", out)
	}
	if _, err := os.Stat(filepath.Join(shut, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s/b: %v (want it not written)", shut, err)
	}
	r = &Runner{Args: []string{"/bin/sh", "-c", `echo a 2>&- > "$0/a2" && echo wrote`, open}, NoNewPrivs: true,
		Landlock: &spec.Landlock{HandledFS: spec.LandlockFSKnown, Paths: []spec.LandlockPath{rule("/", readExec)}}}
	out, ws = output(t, r)
	if out != "" || ws.ExitStatus() == 0 {
		t.Errorf("without a rule for %s: output %q, status %#x", open, out, uint32(ws))
	}
	if _, err := os.Stat(filepath.Join(open, "a2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s/a2: %v (want it not written)", open, err)
	}
}

// Caps: the spec carries the kept set (CAPS), and the helper refuses it with DropCaps.
func TestCapsRecord(t *testing.T) {
	r := &Runner{Args: []string{"/bin/true"}, Caps: &spec.Caps{Keep: 1 << 10}}
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "1e000000" + "0c000000" + "0004000000000000" + "00000000" // CAPS, flags 0, 12 bytes; kept 1<<10; flags 0
	if got := fmt.Sprintf("%x", b[len(b)-20:]); got != want {
		t.Errorf("CAPS record %s, want %s", got, want)
	}
	r.DropCaps = true
	_, err = r.Start()
	if ce := childErr(t, err); ce.Location != LocSpec {
		t.Errorf("Caps with DropCaps: %v, want a spec refusal", err)
	}
}
