package spec

import (
	_ "embed"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
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
	for _, n := range []uint32{LocLast + 1, 63} {
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
	kinds := 0
	for _, n := range MountKindNames {
		if n != "" {
			kinds++
		}
	}
	if len(rows) != kinds {
		t.Fatalf("docs list %d mount kinds, this client %d", len(rows), kinds)
	}
	for _, r := range rows {
		n, _ := strconv.Atoi(r[1])
		if n >= len(MountKindNames) || MountKindNames[n] != r[2] {
			t.Errorf("kind %d: docs %q, client %q", n, r[2], MountKindNames[n])
		}
	}
}

// generated is the rows of the table titled `title` in docs/spec.md's generated "Tables"
// section (written from crates/spec/src/tables.rs, the one truth), each row's cells with the
// backquotes taken out.
func generated(t *testing.T, md, title string) [][]string {
	begin := strings.Index(md, "<!-- BEGIN GENERATED TABLES")
	end := strings.Index(md, "<!-- END GENERATED TABLES")
	if begin < 0 || end < begin {
		t.Fatalf("docs/spec.md has no generated tables")
	}
	block := md[begin:end]
	at := strings.Index(block, "\n#### "+title)
	if at < 0 {
		t.Fatalf("docs/spec.md: no generated table %q", title)
	}
	table := block[at+1:]
	if next := strings.Index(table, "\n#### "); next >= 0 {
		table = table[:next]
	}
	var rows [][]string
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "`", "")
		}
		rows = append(rows, cells)
	}
	if len(rows) < 2 {
		t.Fatalf("docs/spec.md: generated table %q has no rows", title)
	}
	return rows[1:] // without the header
}

func genNum(t *testing.T, s string) uint64 {
	if strings.HasPrefix(s, "0x") {
		return hexNum(t, s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

// TestGeneratedTablesMatch compares every copy in layout.go with the generated tables: record
// types and constants, option bits with their JSON keys, clone and mount flags, rlimit
// resources, mount operation flags, and the mount kinds with their default modes.
func TestGeneratedTablesMatch(t *testing.T) {
	md := specMD(t)
	if !strings.Contains(md, "<!-- BEGIN GENERATED TABLES") {
		t.Skip("no generated tables in docs/spec.md")
	}
	records := generated(t, md, "Record types")
	if len(records) != len(RecordNames)-1 {
		t.Errorf("docs list %d record types, this client %d", len(records), len(RecordNames)-1)
	}
	// Every generated table with a constant column has the same constants here, named with
	// a prefix (RecInfoFd for INFO_FD, OptCTTY for CTTY), and none more.
	for _, c := range []struct{ title, prefix string }{
		{"Record types", "Rec"}, {"Option bits", "Opt"}, {"Mount operation flags", "Op"},
	} {
		want := map[string]uint64{}
		for _, r := range generated(t, md, c.title) {
			want[strings.ReplaceAll(r[2], "_", "")] = genNum(t, r[0])
		}
		got := layoutConsts(t, c.prefix)
		for name, v := range want {
			if g, ok := got[name]; !ok || g != v {
				t.Errorf("%s: %s is %d in the docs, %d here (present: %v)", c.title, name, v, g, ok)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: layout.go has %s%s, the docs do not", c.title, c.prefix, name)
			}
		}
	}
	kindConsts := layoutConsts(t, "Kind")
	for _, r := range generated(t, md, "Mount operation kinds") {
		name := strings.ToUpper(strings.ReplaceAll(r[1], "_", ""))
		if v, ok := kindConsts[name]; !ok || v != genNum(t, r[0]) {
			t.Errorf("mount kind %s %s: its Kind constant is %d here (present: %v)", r[0], r[1], v, ok)
		}
	}
	for i, r := range records {
		if n := genNum(t, r[0]); n != uint64(i+1) {
			t.Errorf("record row %d has number %d", i+1, n)
		}
	}

	options := generated(t, md, "Option bits")
	if len(options) != len(OptionNames) {
		t.Fatalf("docs list %d option bits, this client %d", len(options), len(OptionNames))
	}
	for i, r := range options {
		o, json := OptionNames[i], r[1]
		if json == "no_setsid" {
			json = "setsid" // the JSON key is the inverse
		}
		if o.Bit != genNum(t, r[0]) || o.Name != r[2] || o.JSON != json {
			t.Errorf("option %v: client %#x %s %s", r, o.Bit, o.Name, o.JSON)
		}
	}

	for _, c := range []struct {
		title string
		names []NamedBit
	}{{"Clone flags", CloneFlagNames}, {"Mount flags", MountFlagNames},
		{"Landlock filesystem rights", LandlockFSNames}, {"Landlock network rights", LandlockNetNames},
		{"Landlock scopes", LandlockScopeNames}} {
		rows := generated(t, md, c.title)
		if len(rows) != len(c.names) {
			t.Errorf("%s: docs %d, client %d", c.title, len(rows), len(c.names))
		}
		for _, r := range rows {
			if bit, ok := lookup(r[1], c.names); !ok || bit != genNum(t, r[0]) {
				t.Errorf("%s %s %s: client %#x (present: %v)", c.title, r[1], r[0], bit, ok)
			}
		}
	}

	rlimits := generated(t, md, "Rlimit resources")
	if len(rlimits) != len(RlimitNames) {
		t.Errorf("docs list %d rlimit resources, this client %d", len(rlimits), len(RlimitNames))
	}
	for _, r := range rlimits {
		if n := genNum(t, r[0]); n >= uint64(len(RlimitNames)) || RlimitNames[n] != r[1] {
			t.Errorf("rlimit %s %s: not this client's", r[0], r[1])
		}
	}

	opFlags := map[string]uint16{"optional": OpOptional, "readonly": OpReadonly, "dev": OpDev, "cover": OpCover}
	rows := generated(t, md, "Mount operation flags")
	if len(rows) != len(opFlags) {
		t.Errorf("docs list %d mount operation flags, this client %d", len(rows), len(opFlags))
	}
	for _, r := range rows {
		if v, ok := opFlags[r[1]]; !ok || uint64(v) != genNum(t, r[0]) {
			t.Errorf("mount operation flag %s %s: client %#x (present: %v)", r[1], r[0], v, ok)
		}
	}

	kinds := generated(t, md, "Mount operation kinds")
	if len(kinds) != len(MountKindNames)-1 {
		t.Errorf("docs list %d mount kinds, this client %d", len(kinds), len(MountKindNames)-1)
	}
	for _, r := range kinds {
		// kind | name | flags | mode | size | fd | content | source | default mode
		n := genNum(t, r[0])
		if n >= uint64(len(MountKindNames)) || MountKindNames[n] != r[1] {
			t.Errorf("mount kind %s %s: not this client's", r[0], r[1])
			continue
		}
		mode, err := strconv.ParseUint(r[8], 8, 32)
		if err != nil || MountKindDefaultMode[uint16(n)] != uint32(mode) {
			t.Errorf("mount kind %s: default mode %s, client %#o", r[1], r[8], MountKindDefaultMode[uint16(n)])
		}
	}
	for k := range MountKindDefaultMode {
		if int(k) >= len(MountKindNames) {
			t.Errorf("a default mode for kind %d, which this client does not name", k)
		}
	}
}

//go:embed layout.go
var layoutSource string

// layoutConsts reads layout.go's constants whose names are `prefix` and a capital letter:
// the rest of the name, upper-cased, to the value.
func layoutConsts(t *testing.T, prefix string) map[string]uint64 {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "layout.go", layoutSource, 0)
	if err != nil {
		t.Fatalf("layout.go: %v", err)
	}
	out := map[string]uint64{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				rest := strings.TrimPrefix(name.Name, prefix)
				if rest == name.Name || rest == "" || rest[0] < 'A' || rest[0] > 'Z' || i >= len(vs.Values) {
					continue
				}
				tv, err := types.Eval(fset, nil, token.NoPos, types.ExprString(vs.Values[i]))
				if err != nil {
					t.Fatalf("layout.go %s: %v", name.Name, err)
				}
				v, exact := constant.Uint64Val(tv.Value)
				if !exact {
					t.Fatalf("layout.go %s: not a whole number", name.Name)
				}
				out[strings.ToUpper(rest)] = v
			}
		}
	}
	return out
}

// The Landlock "every right" masks are the unions of their tables, and the JSON form's groups
// are what docs/json.md says: read = read_file + read_dir, write = every right but execute and
// the reading ones.
func TestLandlockMasks(t *testing.T) {
	union := func(table []NamedBit) (u uint64) {
		for _, e := range table {
			u |= e.Bit
		}
		return u
	}
	if union(LandlockFSNames) != LandlockFSKnown || union(LandlockNetNames) != LandlockNetKnown {
		t.Errorf("known masks %#x %#x, tables %#x %#x", LandlockFSKnown, LandlockNetKnown,
			union(LandlockFSNames), union(LandlockNetNames))
	}
	bit := func(n string) uint64 { b, _ := lookup(n, LandlockFSNames); return b }
	if LandlockFSRead != bit("read_file")|bit("read_dir") ||
		LandlockFSWrite != LandlockFSKnown&^(bit("execute")|bit("read_file")|bit("read_dir")) {
		t.Errorf("groups read %#x write %#x", LandlockFSRead, LandlockFSWrite)
	}
}
