package forkexec

import (
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"forkexec/pkg/mount"
)

// helperLine runs the helper on r's spec with no reader: the spec comes on the read end of a
// pipe (a read-only status fd, docs/spec.md "No reader"), so the helper prints its error on
// stderr in the words of crates/spec/src/render.rs. Returns that line without "forkexec: ".
func helperLine(t *testing.T, r *Runner) string {
	t.Helper()
	data, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var specP, errP [2]int
	if err := syscall.Pipe2(specP[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Pipe2(errP[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Write(specP[1], data); err != nil {
		t.Fatal(err)
	}
	syscall.Close(specP[1])
	null, _ := os.Open("/dev/null")
	defer null.Close()
	pid, err := syscall.ForkExec(os.Getenv(HelperEnv), []string{"forkexec"},
		&syscall.ProcAttr{Files: []uintptr{null.Fd(), null.Fd(), uintptr(errP[1]), uintptr(specP[0])}})
	syscall.Close(specP[0])
	syscall.Close(errP[1])
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(errP[0]), "stderr")
	out, _ := io.ReadAll(f)
	f.Close()
	waitPid(t, pid)
	line := strings.TrimSuffix(string(out), "\n")
	if !strings.HasPrefix(line, "forkexec: ") || strings.Contains(line, "\n") {
		t.Fatalf("helper's stderr: %q", out)
	}
	return strings.TrimPrefix(line, "forkexec: ")
}

// ChildError.Words is the helper's own line for the same failure (one rendering,
// crates/spec/src/render.rs), and Error() is go-sandbox's.
func TestWordsAreTheHelpersLine(t *testing.T) {
	root := t.TempDir()
	os.Chmod(root, 0o755)
	mounts, _ := mount.NewBuilder().WithOp("/tmp", mount.Op{Kind: mount.KindTmpfs}).
		WithOp("/x", mount.Op{Kind: mount.KindBind, Source: "/nonexistent/dir"}).Build()
	for _, c := range []struct {
		r     func() *Runner
		words string
		err   string
	}{
		{func() *Runner { return &Runner{Args: []string{"/nonexistent/prog"}} },
			"execve(0) /nonexistent/prog: no such file or directory", "execve: no such file or directory"},
		{func() *Runner { return &Runner{Args: []string{"/bin/true"}, WorkDir: "/nonexistent/dir"} },
			"chdir(0) /nonexistent/dir: no such file or directory", "chdir: no such file or directory"},
		{func() *Runner { return &Runner{Args: []string{"/bin/true"}, CgroupPath: "/nonexistent/cgroup"} },
			"cgroup(0) /nonexistent/cgroup: no such file or directory", "cgroup: no such file or directory"},
		{func() *Runner { return &Runner{Args: []string{"/bin/true"}, HostName: "box"} },
			"spec(offset 30): conflicting fields (invalid argument)", "spec(offset 30): conflicting fields (invalid argument)"},
		{func() *Runner {
			return userns(&Runner{Args: []string{"/bin/true"}, Mounts: mounts, PivotRoot: root}, syscall.CLONE_NEWNS)
		}, "mount(source)(1) /nonexistent/dir: no such file or directory", "mount(source)(1): no such file or directory"},
	} {
		_, err := c.r().Start()
		ce := childErr(t, err)
		if got := ce.Words(); got != c.words {
			t.Errorf("Words %q, want %q", got, c.words)
		}
		if got := ce.Error(); got != c.err {
			t.Errorf("Error %q, want %q", got, c.err)
		}
		if line := helperLine(t, c.r()); line != ce.Words() {
			t.Errorf("the helper says %q, Words %q", line, ce.Words())
		}
	}
	noChildren(t)
}
