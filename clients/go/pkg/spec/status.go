package spec

import (
	"encoding/binary"
	"fmt"
)

// RecordLen is the size of every status record.
const RecordLen = 32

// Status record kinds (the u32 at offset 0).
const (
	KindError uint32 = 1
	KindSync  uint32 = 2
	KindPid   uint32 = 3
	KindExit  uint32 = 4
	KindExec  uint32 = 5
)

// The runtime's answer to a sync record: SyncContinue, or any other byte to refuse.
const (
	SyncContinue byte = 0
	SyncAbort    byte = 1
)

// Helper exit codes (docs/spec.md "Exit codes").
const (
	ExitSetupFailed   = 125
	ExitCannotExecute = 126
	ExitNotFound      = 127
)

// Record is one decoded status record. Kind says which fields mean something:
// error: Location, Errno, Index, Detail; sync, pid, exec: Pid; exit: WaitStatus, UserTimeUs,
// SystemTimeUs, MaxRSSKiB.
type Record struct {
	Kind         uint32
	Location     uint32
	Errno        int32
	Index        uint32
	Detail       uint32
	Pid          uint32
	WaitStatus   int32
	UserTimeUs   uint64
	SystemTimeUs uint64
	MaxRSSKiB    uint64
}

// DecodeRecord decodes one 32-byte status record. An unknown kind is an error (a protocol
// error, docs/spec.md "Status records").
func DecodeRecord(b []byte) (Record, error) {
	if len(b) != RecordLen {
		return Record{}, fmt.Errorf("status record: %d bytes, want %d", len(b), RecordLen)
	}
	le := binary.LittleEndian
	r := Record{Kind: le.Uint32(b[0:])}
	switch r.Kind {
	case KindError:
		r.Location = le.Uint32(b[4:])
		r.Errno = int32(le.Uint32(b[8:]))
		r.Index = le.Uint32(b[12:])
		r.Detail = le.Uint32(b[16:])
	case KindSync, KindPid, KindExec:
		r.Pid = le.Uint32(b[4:])
	case KindExit:
		r.WaitStatus = int32(le.Uint32(b[4:]))
		r.UserTimeUs = le.Uint64(b[8:])
		r.SystemTimeUs = le.Uint64(b[16:])
		r.MaxRSSKiB = le.Uint64(b[24:])
	default:
		return Record{}, fmt.Errorf("status record: unknown kind %d", r.Kind)
	}
	return r, nil
}

// Encode is the inverse of DecodeRecord (for tests and fake helpers).
func (r Record) Encode() []byte {
	b := make([]byte, RecordLen)
	le := binary.LittleEndian
	le.PutUint32(b[0:], r.Kind)
	switch r.Kind {
	case KindError:
		le.PutUint32(b[4:], r.Location)
		le.PutUint32(b[8:], uint32(r.Errno))
		le.PutUint32(b[12:], r.Index)
		le.PutUint32(b[16:], r.Detail)
	case KindSync, KindPid, KindExec:
		le.PutUint32(b[4:], r.Pid)
	case KindExit:
		le.PutUint32(b[4:], uint32(r.WaitStatus))
		le.PutUint64(b[8:], r.UserTimeUs)
		le.PutUint64(b[16:], r.SystemTimeUs)
		le.PutUint64(b[24:], r.MaxRSSKiB)
	}
	return b
}

// Location numbers (docs/spec.md "Error locations"). 1-32 are go-sandbox's ErrorLocation.
const (
	LocSpecRead = 33
	LocSpec     = 34
	LocLast     = 65
)

// LocationNames are the error locations' names (index = number; 0 is unused, and so is a
// number in a range not handed out yet: an empty name).
var LocationNames = [...]string{
	"unknown", "clone", "close_write", "unshare_user_read", "getpid", "keep_capability",
	"setgroups", "setgid", "setuid", "dup3", "fcntl", "setsid", "ioctl", "mount(root)",
	"mount(tmpfs)", "mount(chdir)", "mount", "mount(mkdir)", "pivot_root", "umount", "unlink",
	"mount(readonly)", "chdir", "setrlimit", "set_no_new_privs", "drop_capability", "set_cap",
	"ptrace_me", "stop", "seccomp", "sync_write", "sync_read", "execve", "spec_read", "spec",
	"unshare", "write_setgroups", "write_uid_map", "write_gid_map", "sethostname",
	"setdomainname", "close_range", "get_cap", "cgroup", "pdeathsig", "supervise",
	"privileged_install", "set_dumpable", "mount(path)", "mount(source)", "keyring",
	"landlock", "landlock(path)", "landlock(port)", "lock_file", "sync_fd", "raise_ambient",
	"block_fd", "loopback", "max_user_namespaces",
	60: "setns", "info_fd", "assert_userns_disabled",
	64: "serve", 65: "serve_fds",
}

// LocationName is a location's name, or "unknown(N)" for a number this client does not know.
func LocationName(loc uint32) string {
	if loc >= 1 && int(loc) < len(LocationNames) && LocationNames[loc] != "" {
		return LocationNames[loc]
	}
	return fmt.Sprintf("unknown(%d)", loc)
}

// Fault is a spec fault: the `detail` of a location-34 (`spec`) error record.
type Fault struct {
	Name  string
	Errno int32
	// Text is the short description clients print (Fault::describe in crates/spec).
	Text string
}

// Faults by number (index = fault number; 0 is unused).
var Faults = [...]Fault{
	{},
	{"Truncated", 22, "truncated"},
	{"BadMagic", 22, "bad magic (not a forkexec spec)"},
	{"BadVersion", 22, "unsupported version"},
	{"BadTotalLength", 22, "bad total length"},
	{"UnknownRecord", 22, "unknown record type"},
	{"DuplicateRecord", 22, "duplicate record"},
	{"BadRecordLength", 22, "bad record length"},
	{"Unterminated", 22, "unterminated string"},
	{"InteriorNul", 22, "NUL inside a string"},
	{"TooLong", 7, "over the length limit"},
	{"TooMany", 7, "over the count limit"},
	{"FdOutOfRange", 9, "fd out of range"},
	{"UnknownBits", 22, "unknown flag bits"},
	{"BadValue", 22, "value out of range"},
	{"MissingArgs", 22, "missing args"},
	{"Conflict", 22, "conflicting fields"},
	{"NeedsCloneShape", 95, "needs the clone shape (not supported in place)"},
}

// FaultText is a fault's short text, or "fault N" for a number this client does not know.
func FaultText(detail uint32) string {
	if detail >= 1 && int(detail) < len(Faults) {
		return Faults[detail].Text
	}
	return fmt.Sprintf("fault %d", detail)
}
