package spec

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// This client's copies of the numbers agree with docs/spec.md's tables (crates/spec is the
// one truth; docs/spec.md is checked against it on the Rust side).

func specMD(t *testing.T) string {
	path := repoFile(t, "FORKEXEC_SPEC_MD", "docs/spec.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("docs/spec.md not found (set FORKEXEC_SPEC_MD): %v", err)
	}
	return string(b)
}

// section is the text from the heading line `from` to the next heading `to`.
func section(t *testing.T, text, from, to string) string {
	i := strings.Index(text, "\n"+from+"\n")
	if i < 0 {
		t.Fatalf("docs/spec.md: no heading %q", from)
	}
	rest := text[i+len(from)+2:]
	if j := strings.Index(rest, "\n"+to+"\n"); j >= 0 {
		return rest[:j]
	}
	t.Fatalf("docs/spec.md: no heading %q after %q", to, from)
	return ""
}

func hexNum(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("not hex: %q", s)
	}
	return v
}

func TestLocationsMatchDocs(t *testing.T) {
	text := section(t, specMD(t), "## Error locations", "## Versioning")
	rows := regexp.MustCompile("(?m)^\\| (\\d+) \\| `([^`]+)` \\|").FindAllStringSubmatch(text, -1)
	known := 0
	for _, name := range LocationNames[1:] {
		if name != "" {
			known++
		}
	}
	if len(rows) != known || len(LocationNames) != LocLast+1 {
		t.Fatalf("docs list %d locations, this client %d", len(rows), known)
	}
	for _, r := range rows {
		n, _ := strconv.Atoi(r[1])
		if LocationNames[n] != r[2] {
			t.Errorf("location %d: docs %q, client %q", n, r[2], LocationNames[n])
		}
	}
	for _, n := range []uint32{LocLast + 1, 60} {
		if LocationName(n) != fmt.Sprintf("unknown(%d)", n) {
			t.Errorf("an unknown location prints as %q", LocationName(n))
		}
	}
}

func TestFaultsMatchDocs(t *testing.T) {
	md := specMD(t)
	text := section(t, md, "### Faults", "### Order of checks")
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| (\w+) \| (\d+) `).FindAllStringSubmatch(text, -1)
	if len(rows) != len(Faults)-1 {
		t.Fatalf("docs list %d faults, this client %d", len(rows), len(Faults)-1)
	}
	for _, r := range rows {
		n, _ := strconv.Atoi(r[1])
		e, _ := strconv.Atoi(r[3])
		if Faults[n].Name != r[2] || Faults[n].Errno != int32(e) {
			t.Errorf("fault %d: docs %s/%d, client %s/%d", n, r[2], e, Faults[n].Name, Faults[n].Errno)
		}
		// The short texts: "1 `truncated`, 2 `bad magic (not a forkexec spec)`, ..."
		if !strings.Contains(strings.Join(strings.Fields(text), " "), r[1]+" `"+Faults[n].Text+"`") {
			t.Errorf("fault %d: text %q is not the one docs/spec.md gives", n, Faults[n].Text)
		}
	}
}

func TestRecordTypesMatchDocs(t *testing.T) {
	text := section(t, specMD(t), "## Record types", "### 1 ARGS, 2 ENV (string lists)")
	rows := regexp.MustCompile("(?m)^\\| (\\d+) \\| ([A-Z_]+) \\| `([a-z_]+)").FindAllStringSubmatch(text, -1)
	if len(rows) != len(RecordNames)-1 {
		t.Fatalf("docs list %d record types, this client %d", len(rows), len(RecordNames)-1)
	}
	for _, r := range rows {
		n, _ := strconv.Atoi(r[1])
		if n == int(RecOptions) {
			continue // its JSON keys are the option bits'
		}
		if RecordNames[n] != r[3] {
			t.Errorf("record %d %s: docs key %q, client %q", n, r[2], r[3], RecordNames[n])
		}
	}
}

func TestOptionBitsMatchDocs(t *testing.T) {
	text := section(t, specMD(t), "### Option bits", "### Clone flags")
	rows := regexp.MustCompile("(?m)^\\| \\d+ \\| `(0x[0-9a-f]+)` \\| ([A-Z_]+) \\| `(\\w+):").FindAllStringSubmatch(text, -1)
	if len(rows) != len(OptionNames) {
		t.Fatalf("docs list %d option bits, this client %d", len(rows), len(OptionNames))
	}
	for i, r := range rows {
		o := OptionNames[i]
		if o.Bit != hexNum(t, r[1]) || o.Name != r[2] || o.JSON != r[3] {
			t.Errorf("option %s: docs %s %s %s, client %#x %s %s", r[2], r[1], r[2], r[3], o.Bit, o.Name, o.JSON)
		}
	}
}

func TestCloneAndMountFlagsMatchDocs(t *testing.T) {
	md := specMD(t)
	text := section(t, md, "### Clone flags", "### Mount options")
	rows := regexp.MustCompile("(?m)^\\| `(0x[0-9a-f]+)` \\| CLONE_NEW[A-Z]+ \\| `(\\w+)`").FindAllStringSubmatch(text, -1)
	if len(rows) != len(CloneFlagNames) {
		t.Fatalf("docs list %d clone flags, this client %d", len(rows), len(CloneFlagNames))
	}
	for _, r := range rows {
		if bit, ok := lookup(r[2], CloneFlagNames); !ok || bit != hexNum(t, r[1]) {
			t.Errorf("clone flag %s %s: client %#x", r[2], r[1], bit)
		}
	}
	text = strings.Join(strings.Fields(section(t, md, "### Mount flags", "### Credential flags")), " ")
	pairs := regexp.MustCompile("`(\\w+)` (0x[0-9a-f]+)").FindAllStringSubmatch(text, -1)
	if len(pairs) != len(MountFlagNames) {
		t.Fatalf("docs list %d mount flags, this client %d", len(pairs), len(MountFlagNames))
	}
	for _, p := range pairs {
		if bit, ok := lookup(p[1], MountFlagNames); !ok || bit != hexNum(t, p[2]) {
			t.Errorf("mount flag %s %s: client %#x", p[1], p[2], bit)
		}
	}
}

func TestMountKindsMatchDocs(t *testing.T) {
	text := section(t, specMD(t), "#### Mount operation kinds", "#### Mount operation flags")
	rows := regexp.MustCompile("(?m)^\\| (\\d+) \\| `(\\w+)` \\|").FindAllStringSubmatch(text, -1)
	if len(rows) != len(MountKindNames)-1 {
		t.Fatalf("docs list %d mount kinds, this client %d", len(rows), len(MountKindNames)-1)
	}
	for _, r := range rows {
		n, _ := strconv.Atoi(r[1])
		if MountKindNames[n] != r[2] {
			t.Errorf("kind %d: docs %q, client %q", n, r[2], MountKindNames[n])
		}
	}
}
