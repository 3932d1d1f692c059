package forkexec

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"unsafe"

	"forkexec/pkg/mount"
	"forkexec/pkg/spec"
)

// HelperEnv is the environment variable naming the helper binary.
const HelperEnv = "FORKEXEC_HELPER"

// FindHelper finds the helper: $FORKEXEC_HELPER if set; else a `forkexec` file next to the
// running executable or in its parent directory; else the first `forkexec` on PATH.
func FindHelper() (string, error) {
	if p := os.Getenv(HelperEnv); p != "" {
		return p, nil
	}
	looked := []string{"$" + HelperEnv + " (unset)"}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		for _, d := range []string{dir, filepath.Dir(dir)} {
			c := filepath.Join(d, "forkexec")
			if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return c, nil
			}
			looked = append(looked, c)
		}
	}
	if p, err := exec.LookPath("forkexec"); err == nil {
		return p, nil
	}
	looked = append(looked, "$PATH ("+os.Getenv("PATH")+")")
	return "", fmt.Errorf("cannot find the `forkexec` binary; set %s or Runner.Helper (looked at: %v)", HelperEnv, looked)
}

// fdOf turns go-sandbox's uintptr fds into ints (^uintptr(0) is -1, closed).
func fdOf(u uintptr) int { return int(int64(u)) }

// Spec is the spec Start sends for this Runner.
func (r *Runner) Spec() (*spec.Spec, error) {
	s := &spec.Spec{
		Args:       r.Args,
		Env:        r.Env,
		ExecPath:   r.ExecPath,
		WorkDir:    r.WorkDir,
		CloneFlags: uint64(r.CloneFlags),
		PivotRoot:  r.PivotRoot,
		HostName:   r.HostName,
		DomainName: r.DomainName,
		CgroupPath: r.CgroupPath,
		Landlock:   r.Landlock,
		Caps:       r.Caps,
	}
	if r.ExecFile != 0 {
		fd := fdOf(r.ExecFile)
		s.ExecFd = &fd
	}
	if r.CgroupFd != 0 {
		fd := fdOf(r.CgroupFd)
		s.CgroupFd = &fd
	}
	for _, l := range r.RLimits {
		s.Rlimits = append(s.Rlimits, spec.Rlimit{Resource: uint32(l.Res), Cur: l.Rlim.Cur, Max: l.Rlim.Max})
	}
	for _, f := range r.Files {
		s.Files = append(s.Files, fdOf(f))
	}
	filters := r.SeccompStack
	if r.Seccomp != nil {
		filters = append([]*syscall.SockFprog{r.Seccomp}, filters...)
	}
	for i, p := range filters {
		if p == nil || p.Len == 0 || p.Filter == nil {
			return nil, fmt.Errorf("forkexec: Seccomp: filter %d is empty", i)
		}
		program := []spec.SockFilter{}
		for _, f := range unsafe.Slice(p.Filter, p.Len) {
			program = append(program, spec.SockFilter{Code: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K})
		}
		s.Seccomp = append(s.Seccomp, program)
	}
	for i, m := range r.Mounts {
		if m.Op != nil {
			op := m.Op
			mo := &spec.MountOp{Kind: uint16(op.Kind), Mode: op.Mode, Size: op.Size, Fd: -1,
				Source: op.Source, Target: mount.GoString(m.Target), Content: op.Content}
			if op.Fd != 0 {
				mo.Fd = fdOf(op.Fd)
			}
			if op.Lower != nil {
				mo.Content = spec.OverlayLayers(op.Upper, op.Work, op.Lower...)
			}
			if mo.Mode == 0 {
				mo.Mode = spec.MountKindDefaultMode[mo.Kind]
			}
			if op.Optional {
				mo.Flags |= spec.OpOptional
			}
			if op.Readonly {
				mo.Flags |= spec.OpReadonly
			}
			if op.Dev {
				mo.Flags |= spec.OpDev
			}
			if op.Cover {
				mo.Flags |= spec.OpCover
			}
			s.Mounts = append(s.Mounts, mo)
			continue
		}
		if m.Target == nil {
			return nil, fmt.Errorf("forkexec: Mounts[%d]: no target", i)
		}
		rm := &spec.RawMount{Flags: uint64(m.Flags), Options: spec.MountMkdir,
			Source: mount.GoString(m.Source), Target: mount.GoString(m.Target),
			FsType: mount.GoString(m.FsType), Data: mount.GoString(m.Data)}
		if m.MakeNod {
			rm.Options |= spec.MountFile
		}
		s.Mounts = append(s.Mounts, rm)
	}
	idMap := func(m []syscall.SysProcIDMap) (out []spec.IDMap) {
		for _, e := range m {
			out = append(out, spec.IDMap{ContainerID: uint32(e.ContainerID), HostID: uint32(e.HostID), Size: uint32(e.Size)})
		}
		return out
	}
	s.UIDMappings = idMap(r.UIDMappings)
	s.GIDMappings = idMap(r.GIDMappings)
	if c := r.Credential; c != nil {
		s.Credential = &spec.Credential{UID: c.Uid, GID: c.Gid, Groups: c.Groups, NoSetGroups: c.NoSetGroups}
	}
	for _, o := range []struct {
		on  bool
		bit uint64
	}{
		{r.SyncFunc != nil, spec.OptSync},
		{r.Ptrace, spec.OptPtrace},
		{r.NoNewPrivs, spec.OptNoNewPrivs},
		{r.StopBeforeSeccomp, spec.OptStopBeforeSeccomp},
		{r.GIDMappingsEnableSetgroups, spec.OptGIDMappingsEnableSetgroups},
		{r.DropCaps, spec.OptDropCaps},
		{r.UnshareCgroupAfterSync, spec.OptUnshareCgroupAfterSync},
		{r.CTTY, spec.OptCTTY},
		{r.NoSetsid, spec.OptNoSetsid},
		{r.Detach, spec.OptDetach},
		{r.Init, spec.OptInit},
		{r.DieWithParent, spec.OptDieWithParent},
		{r.WritableRoot, spec.OptWritableRoot},
		{r.NewSessionKeyring, spec.OptNewSessionKeyring},
		{r.ParentsFromMode, spec.OptParentsFromMode},
	} {
		if o.on {
			s.Options |= o.bit
		}
	}
	return s, nil
}

// Encode is the spec bytes Start sends.
func (r *Runner) Encode() ([]byte, error) {
	s, err := r.Spec()
	if err != nil {
		return nil, err
	}
	return s.Encode()
}

// inheritedFds are the fds of this process the helper gets at the same numbers: the spec
// names them (Files, ExecFile, CgroupFd, mount operation fds). Each must be open: a closed
// one would only show up later, as a step failing with EBADF.
func inheritedFds(s *spec.Spec) ([]int, error) {
	type named struct {
		field string
		fd    int
	}
	var all []named
	for i, fd := range s.Files {
		all = append(all, named{fmt.Sprintf("Files[%d]", i), fd})
	}
	if s.ExecFd != nil {
		all = append(all, named{"ExecFile", *s.ExecFd})
	}
	if s.CgroupFd != nil {
		all = append(all, named{"CgroupFd", *s.CgroupFd})
	}
	for i, m := range s.Mounts {
		if op, ok := m.(*spec.MountOp); ok && op.Fd >= 0 {
			all = append(all, named{fmt.Sprintf("Mounts[%d].Op.Fd", i), op.Fd})
		}
	}
	seen := map[int]bool{}
	var fds []int
	for _, n := range all {
		if n.fd < 0 || n.fd >= spec.MaxFd {
			continue // the helper refuses it with a spec error naming the offset
		}
		if _, err := fcntl(n.fd, syscall.F_GETFD, 0); err != nil {
			return nil, fmt.Errorf("forkexec: cannot pass %s (fd %d): not an open fd of this process", n.field, n.fd)
		}
		if !seen[n.fd] {
			seen[n.fd] = true
			fds = append(fds, n.fd)
		}
	}
	sort.Ints(fds)
	return fds, nil
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// spawn starts the helper with fds kept at their numbers and theirs as the spec fd (the
// first free number from 3). Returns the helper's pid. Its fds 0-2 are ours when open.
func spawn(helper string, keep []int, theirs int) (int, error) {
	specFd := 3
	for _, fd := range keep {
		if fd == specFd {
			specFd++
		}
	}
	n := specFd + 1
	if len(keep) > 0 && keep[len(keep)-1]+1 > n {
		n = keep[len(keep)-1] + 1
	}
	files := make([]uintptr, n)
	for i := range files {
		files[i] = ^uintptr(0)
	}
	for fd := 0; fd < 3; fd++ {
		if _, err := fcntl(fd, syscall.F_GETFD, 0); err == nil {
			files[fd] = uintptr(fd)
		}
	}
	for _, fd := range keep {
		files[fd] = uintptr(fd)
	}
	files[specFd] = uintptr(theirs)
	argv := []string{helper}
	if specFd != 3 {
		argv = append(argv, "--spec-fd", strconv.Itoa(specFd))
	}
	pid, err := syscall.ForkExec(helper, argv, &syscall.ProcAttr{Env: []string{}, Files: files})
	if err != nil {
		return 0, fmt.Errorf("forkexec: cannot run %s: %w", helper, err)
	}
	return pid, nil
}

// Start spawns the helper, writes it the spec and answers its status records until the
// target runs. It returns the pid to wait for: the helper's (which is the target in place,
// and ends the way the target does when it supervises it), or with Detach the target's own.
//
// On error nothing ran and every process Start made has been reaped. The error is a
// ChildError for a step that failed (including a spec the helper refused, LocSpec), SyncFunc's
// own error, or another error for a problem of the conversation.
//
// With Ptrace, the caller must have locked its goroutine to its OS thread. When the helper
// stops itself before exec (StopBeforeSeccomp, or Ptrace with Seccomp) Start returns once the
// sync is answered, and the rest of the status stream is read in the background, as
// go-sandbox does; an error after the stop shows as the target's exit status.
func (r *Runner) Start() (int, error) {
	s, err := r.Spec()
	if err != nil {
		return 0, err
	}
	data, err := s.Encode()
	if err != nil {
		return 0, err
	}
	keep, err := inheritedFds(s)
	if err != nil {
		return 0, err
	}
	helper := r.Helper
	if helper == "" {
		if helper, err = FindHelper(); err != nil {
			return 0, err
		}
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("forkexec: socketpair: %w", err)
	}
	pid, err := spawn(helper, keep, fds[1])
	syscall.Close(fds[1]) // the helper's exec or exit must show as end of stream
	if err != nil {
		syscall.Close(fds[0])
		return 0, err
	}
	c := &conversation{fd: fds[0], helper: pid, path: helper, sync: r.SyncFunc, spec: s}
	stops := r.StopBeforeSeccomp || (r.Ptrace && (r.Seccomp != nil || len(r.SeccompStack) > 0))
	return c.run(data, r.Detach, stops)
}

// conversation is the runtime's end of the spec socket during one Start.
type conversation struct {
	fd     int
	helper int    // the helper's pid
	path   string // the helper binary
	sync   func(int) error
	spec   *spec.Spec // what was sent, for the subject of an error
	target int        // the pid record's pid, once read (0 before)
	hungUp error      // the first write the helper was no longer there to read
}

func (c *conversation) send(b []byte) {
	for len(b) > 0 {
		n, err := syscall.SendmsgN(c.fd, b, nil, nil, syscall.MSG_NOSIGNAL)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			// EPIPE or ECONNRESET: the helper refused the spec (or the header) and left
			// before reading all of it. What it wrote before leaving is still to be read.
			if c.hungUp == nil {
				c.hungUp = err
			}
			return
		}
		b = b[n:]
	}
}

// next reads one record; ok is false at end of stream.
func (c *conversation) next() (rec spec.Record, ok bool, err error) {
	buf := make([]byte, spec.RecordLen)
	got := 0
	for got < len(buf) {
		n, err := syscall.Read(c.fd, buf[got:])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.ECONNRESET {
			n, err = 0, nil // the helper left with some of our bytes unread: end of stream
		}
		if err != nil {
			return rec, false, fmt.Errorf("forkexec: reading status: %w", err)
		}
		if n == 0 {
			break
		}
		got += n
	}
	if got == 0 {
		return rec, false, nil
	}
	if got < len(buf) {
		return rec, false, fmt.Errorf("forkexec: status: stream ended %d bytes into a %d-byte record", got, spec.RecordLen)
	}
	rec, err = spec.DecodeRecord(buf)
	if err != nil {
		return rec, false, fmt.Errorf("forkexec: %w", err)
	}
	return rec, true, nil
}

const (
	untilEnd  = iota // end of stream, or an exec record
	untilPid         // the pid record
	untilSync        // the answered sync record (or end of stream)
)

// readUntil reads records until `until` is reached. An error record is a ChildError; a
// refused sync returns SyncFunc's error.
func (c *conversation) readUntil(until int) error {
	for {
		rec, ok, err := c.next()
		if err != nil {
			return err
		}
		if !ok {
			if c.hungUp != nil {
				return fmt.Errorf("forkexec: %s (pid %d) ended without an error record before it had the whole spec or the sync answer (%v)", c.path, c.helper, c.hungUp)
			}
			return nil
		}
		switch rec.Kind {
		case spec.KindError:
			e := childError(rec)
			e.Subject = subjectOf(c.spec, e.Location, e.Index)
			return e
		case spec.KindPid:
			c.target = int(rec.Pid)
			if until == untilPid {
				return nil
			}
		case spec.KindSync:
			pid := c.target
			if pid == 0 {
				pid = int(rec.Pid) // in place: the helper is the target
			}
			if f := c.sync; f != nil {
				c.sync = nil
				if err := f(pid); err != nil {
					c.send([]byte{spec.SyncAbort})
					return err
				}
			}
			c.send([]byte{spec.SyncContinue})
			if until == untilSync {
				return nil
			}
		case spec.KindExec:
			return nil // a supervising helper keeps the socket open: this says "executed"
		case spec.KindExit:
		}
	}
}

func (c *conversation) run(data []byte, detach, stops bool) (pid int, err error) {
	c.send(data)
	pid = c.helper
	defer func() {
		if err != nil {
			c.fail()
		}
	}()
	if detach {
		if err = c.readUntil(untilPid); err != nil {
			return 0, err
		}
		if c.target == 0 {
			return 0, fmt.Errorf("forkexec: %s (pid %d) ended without reporting the detached target's pid", c.path, c.helper)
		}
		pid = c.target
	}
	if stops {
		if c.sync != nil {
			if err = c.readUntil(untilSync); err != nil {
				return 0, err
			}
		}
		if detach {
			if err = c.reapDetachingHelper(); err != nil {
				return 0, err
			}
		}
		go func() {
			_ = c.readUntil(untilEnd)
			syscall.Close(c.fd)
		}()
		return pid, nil
	}
	if err = c.readUntil(untilEnd); err != nil {
		return 0, err
	}
	if detach {
		if err = c.reapDetachingHelper(); err != nil {
			return 0, err
		}
	}
	syscall.Close(c.fd)
	return pid, nil
}

func (c *conversation) reapDetachingHelper() error {
	status, err := wait(c.helper)
	c.helper = 0
	if err != nil {
		return err
	}
	if !status.Exited() || status.ExitStatus() != 0 {
		return fmt.Errorf("forkexec: %s ended (%v) after starting a detached target", c.path, status)
	}
	return nil
}

// fail cleans up after an error: drains the stream (the processes exit right after their
// error record, or after a refused sync), closes it, and reaps the helper and a detached
// target, killing them first when the stream cannot tell they are ending.
func (c *conversation) fail() {
	drained := true
	for {
		_, ok, err := c.next()
		if err != nil {
			drained = false
			break
		}
		if !ok {
			break
		}
	}
	syscall.Close(c.fd)
	for _, p := range []int{c.target, c.helper} {
		if p == 0 || (p == c.target && p == c.helper) {
			continue
		}
		if !drained {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		if _, err := wait(p); err == syscall.ECHILD {
			continue // not our child (the target of a helper that supervises it)
		}
	}
}

func wait(pid int) (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		return ws, err
	}
}
