package spec

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// vector is one crates/spec/vectors/*.hex file (format: that directory's README.md).
type vector struct {
	name  string
	bytes []byte
	meta  map[string]string
}

// repoFile finds a file of the repository: $env when set, else relative to this package
// (clients/go/pkg/spec).
func repoFile(t *testing.T, env, rel string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func loadVectors(t *testing.T) []vector {
	dir := repoFile(t, "FORKEXEC_VECTORS_DIR", "crates/spec/vectors")
	paths, err := filepath.Glob(filepath.Join(dir, "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("only %d vectors in %s (set FORKEXEC_VECTORS_DIR)", len(paths), dir)
	}
	sort.Strings(paths)
	var out []vector
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		v := vector{name: strings.TrimSuffix(filepath.Base(p), ".hex"), meta: map[string]string{}}
		var digits strings.Builder
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") {
				if k, val, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": "); ok &&
					strings.HasPrefix(line, "# ") && !strings.Contains(k, " ") {
					switch k {
					case "expect", "fault", "offset", "errno", "json", "canonical", "length":
						if _, dup := v.meta[k]; dup {
							t.Fatalf("%s: key %s twice", p, k)
						}
						v.meta[k] = val
					}
				}
				continue
			}
			digits.WriteString(strings.Join(strings.Fields(line), ""))
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if v.bytes, err = hex.DecodeString(digits.String()); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, v)
	}
	return out
}

func atoi(t *testing.T, v vector, key string) int {
	n, err := strconv.Atoi(v.meta[key])
	if err != nil {
		t.Fatalf("%s: %s: %q", v.name, key, v.meta[key])
	}
	return n
}

// faultOf reads "12 FdOutOfRange" and checks the name against Faults.
func faultOf(t *testing.T, v vector) uint32 {
	num, name, _ := strings.Cut(v.meta["fault"], " ")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n >= len(Faults) || Faults[n].Name != name {
		t.Fatalf("%s: fault %q is not in this client's fault table", v.name, v.meta["fault"])
	}
	return uint32(n)
}

// Every vector's bytes, and every canonical one re-encoded from its JSON by Encode.
func TestVectorsEncodeByteForByte(t *testing.T) {
	canonical := 0
	for _, v := range loadVectors(t) {
		if got := atoi(t, v, "length"); got != len(v.bytes) {
			t.Errorf("%s: %d bytes, length says %d", v.name, len(v.bytes), got)
		}
		switch v.meta["expect"] {
		case "ok":
			if v.meta["json"] == "" {
				t.Errorf("%s: a valid vector without json", v.name)
			}
		case "error":
			n := faultOf(t, v)
			if e := atoi(t, v, "errno"); int32(e) != Faults[n].Errno {
				t.Errorf("%s: errno %d, the fault table says %d", v.name, e, Faults[n].Errno)
			}
		default:
			t.Errorf("%s: expect %q", v.name, v.meta["expect"])
		}
		if v.meta["canonical"] != "yes" {
			continue
		}
		s, err := parseJSON(v.meta["json"])
		if err != nil {
			t.Errorf("%s: json: %v", v.name, err)
			continue
		}
		got, err := s.Encode()
		if err != nil {
			t.Errorf("%s: Encode: %v", v.name, err)
			continue
		}
		if !bytes.Equal(got, v.bytes) {
			t.Errorf("%s: Encode differs from the vector\n got  %x\n want %x", v.name, got, v.bytes)
		}
		canonical++
	}
	if canonical < 13 {
		t.Errorf("only %d canonical vectors checked", canonical)
	}
}

// The helper reads each malformed vector and answers with the error record the vector
// names: location 34 `spec`, its errno, index = offset, detail = fault. This checks the Go
// status decoder against the real helper (and the helper against the vectors).
func TestVectorsRefusedByTheHelper(t *testing.T) {
	helper := os.Getenv("FORKEXEC_HELPER")
	if helper == "" {
		t.Skip("FORKEXEC_HELPER not set")
	}
	n := 0
	for _, v := range loadVectors(t) {
		if v.meta["expect"] != "error" {
			continue
		}
		if v.name == "trailing_bytes" {
			// A whole-buffer decoder's view: the helper reads exactly the total length
			// from a stream and never sees the extra byte (see the vector's comment).
			continue
		}
		recs, status := runHelper(t, helper, v.bytes)
		want := Record{Kind: KindError, Location: LocSpec, Errno: int32(atoi(t, v, "errno")),
			Index: uint32(atoi(t, v, "offset")), Detail: faultOf(t, v)}
		if len(recs) != 1 || recs[0] != want {
			t.Errorf("%s: records %+v, want one %+v", v.name, recs, want)
		}
		if !status.Exited() || status.ExitStatus() != ExitSetupFailed {
			t.Errorf("%s: helper ended %v, want exit %d", v.name, status, ExitSetupFailed)
		}
		n++
	}
	if n < 10 {
		t.Errorf("only %d malformed vectors run", n)
	}
}

// runHelper hands spec to the helper on fd 3 (a socket), closes the sending side (end of
// stream after the spec) and reads every status record until end of stream.
func runHelper(t *testing.T, helper string, spec []byte) ([]Record, syscall.WaitStatus) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours := os.NewFile(uintptr(fds[0]), "ours")
	theirs := os.NewFile(uintptr(fds[1]), "theirs")
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(helper)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	uc := conn.(*net.UnixConn)
	// A helper that refuses the header leaves before reading the rest: EPIPE here is
	// expected, and its record is still there to read.
	_, _ = uc.Write(spec)
	_ = uc.CloseWrite()
	var recs []Record
	for {
		buf := make([]byte, RecordLen)
		_, err := io.ReadFull(uc, buf)
		if err == io.EOF || isReset(err) {
			break
		}
		if err != nil {
			t.Fatalf("reading records: %v", err)
		}
		r, err := DecodeRecord(buf)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	_ = cmd.Wait()
	return recs, cmd.ProcessState.Sys().(syscall.WaitStatus)
}

func isReset(err error) bool {
	var errno syscall.Errno
	return err != nil && (strings.Contains(err.Error(), "connection reset") ||
		(asErrno(err, &errno) && errno == syscall.ECONNRESET))
}

func asErrno(err error, target *syscall.Errno) bool {
	for err != nil {
		if e, ok := err.(syscall.Errno); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
