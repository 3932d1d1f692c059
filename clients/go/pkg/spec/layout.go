// Package spec is the forkexec wire format, version 1 (docs/spec.md): the spec a runtime
// writes to the helper, encoded in the canonical record order of
// crates/spec/vectors/README.md, and the 32-byte status records the helper writes back.
//
// The numbers here are copies of crates/spec (the one truth); the package's tests check them
// against docs/spec.md's tables and every byte-exact vector in crates/spec/vectors.
package spec

// Header.
const (
	// Magic is the first four bytes of every spec.
	Magic = "FXSP"
	// Version is the wire format version this package writes.
	Version = 1
	// HeaderLen is magic (4) + version (u16) + header flags (u16) + total length (u32).
	HeaderLen = 12
	// RecordHeaderLen is type (u16) + record flags (u16) + payload length (u32).
	RecordHeaderLen = 8
	// RecordSkipIfUnknown is the record flag of an advisory record an older helper may skip.
	RecordSkipIfUnknown = 1
)

// Record types (docs/spec.md, "Record types").
const (
	RecArgs       uint16 = 1
	RecEnv        uint16 = 2
	RecExecPath   uint16 = 3
	RecExecFd     uint16 = 4
	RecRlimit     uint16 = 5
	RecFiles      uint16 = 6
	RecWorkDir    uint16 = 7
	RecSeccomp    uint16 = 8
	RecCloneFlags uint16 = 9
	RecMount      uint16 = 10
	RecPivotRoot  uint16 = 11
	RecHostName   uint16 = 12
	RecDomainName uint16 = 13
	RecUIDMap     uint16 = 14
	RecGIDMap     uint16 = 15
	RecCredential uint16 = 16
	RecOptions    uint16 = 17
	RecStatusFd   uint16 = 18
	RecCgroupPath uint16 = 19
	RecCgroupFd   uint16 = 20
	RecMountOp    uint16 = 21
	// Landlock (LANDLOCK, LANDLOCK_PATH, LANDLOCK_PORT): Spec.Landlock.
	RecLandlock     uint16 = 22
	RecLandlockPath uint16 = 23
	RecLandlockPort uint16 = 24
	// bubblewrap's info and JSON status fds (INFO_FD, JSON_STATUS_FD).
	RecInfoFd       uint16 = 25
	RecJSONStatusFd uint16 = 26
	// Namespaces to join (JOIN_NS).
	RecJoinNs uint16 = 27
	// What init holds for the sandbox's life (LOCK_FILE, SYNC_FD).
	RecLockFile uint16 = 28
	RecSyncFd   uint16 = 29
	// The capabilities the target keeps (CAPS).
	RecCaps uint16 = 30
	// bubblewrap's block fds (BLOCK_FD, USERNS_BLOCK_FD).
	RecBlockFd       uint16 = 31
	RecUsernsBlockFd uint16 = 32
)

// RecordNames are the JSON keys of the record types (index = type), as docs/spec.md's
// record type table names them and error messages print them.
var RecordNames = [...]string{
	"", "args", "env", "exec_path", "exec_file", "rlimits", "files", "work_dir", "seccomp",
	"clone_flags", "mounts", "pivot_root", "host_name", "domain_name", "uid_mappings",
	"gid_mappings", "credential", "options", "status_fd", "cgroup", "cgroup_fd", "mounts",
	"landlock", "landlock", "landlock", "info_fd", "json_status_fd",
	"join_ns", "lock_files", "sync_fd", "caps", "block_fd", "userns_block_fd",
}

// Option bits (record OPTIONS, docs/spec.md "Option bits").
const (
	OptSync                       uint64 = 1 << 0
	OptPtrace                     uint64 = 1 << 1
	OptNoNewPrivs                 uint64 = 1 << 2
	OptStopBeforeSeccomp          uint64 = 1 << 3
	OptGIDMappingsEnableSetgroups uint64 = 1 << 4
	OptDropCaps                   uint64 = 1 << 5
	OptUnshareCgroupAfterSync     uint64 = 1 << 6
	OptCTTY                       uint64 = 1 << 7
	OptNoSetsid                   uint64 = 1 << 8
	OptDetach                     uint64 = 1 << 9
	OptInit                       uint64 = 1 << 10
	OptDieWithParent              uint64 = 1 << 11
	OptWritableRoot               uint64 = 1 << 12
	OptNewSessionKeyring          uint64 = 1 << 13
	OptParentsFromMode            uint64 = 1 << 14
	OptOnlyEndRecords             uint64 = 1 << 15
	OptDumpableInit               uint64 = 1 << 16
	OptNoWaitInit                 uint64 = 1 << 17
	OptBwrapErrors                uint64 = 1 << 18
	OptLoopback                   uint64 = 1 << 19
	OptDisableUserns              uint64 = 1 << 20
	OptAssertUsernsDisabled       uint64 = 1 << 21
)

// OptionNames are the option bits' names in docs/spec.md (upper case) with their JSON keys.
// NO_SETSID's JSON key is `setsid`, inverted.
var OptionNames = []struct {
	Name, JSON string
	Bit        uint64
}{
	{"SYNC", "sync", OptSync},
	{"PTRACE", "ptrace", OptPtrace},
	{"NO_NEW_PRIVS", "no_new_privs", OptNoNewPrivs},
	{"STOP_BEFORE_SECCOMP", "stop_before_seccomp", OptStopBeforeSeccomp},
	{"GID_MAPPINGS_ENABLE_SETGROUPS", "gid_mappings_enable_setgroups", OptGIDMappingsEnableSetgroups},
	{"DROP_CAPS", "drop_caps", OptDropCaps},
	{"UNSHARE_CGROUP_AFTER_SYNC", "unshare_cgroup_after_sync", OptUnshareCgroupAfterSync},
	{"CTTY", "ctty", OptCTTY},
	{"NO_SETSID", "setsid", OptNoSetsid},
	{"DETACH", "detach", OptDetach},
	{"INIT", "init", OptInit},
	{"DIE_WITH_PARENT", "die_with_parent", OptDieWithParent},
	{"WRITABLE_ROOT", "writable_root", OptWritableRoot},
	{"NEW_SESSION_KEYRING", "new_session_keyring", OptNewSessionKeyring},
	{"PARENTS_FROM_MODE", "parents_from_mode", OptParentsFromMode},
	{"ONLY_END_RECORDS", "only_end_records", OptOnlyEndRecords},
	{"DUMPABLE_INIT", "dumpable_init", OptDumpableInit},
	{"NO_WAIT_INIT", "no_wait_init", OptNoWaitInit},
	{"BWRAP_ERRORS", "bwrap_errors", OptBwrapErrors},
	{"LOOPBACK", "loopback", OptLoopback},
	{"DISABLE_USERNS", "disable_userns", OptDisableUserns},
	{"ASSERT_USERNS_DISABLED", "assert_userns_disabled", OptAssertUsernsDisabled},
}

// NamedBit is one row of a bit table: its JSON name and its bit.
type NamedBit = struct {
	Name string
	Bit  uint64
}

// Clone flags (record CLONE_FLAGS): the CLONE_NEW* namespaces, by JSON name.
var CloneFlagNames = []NamedBit{
	{"newns", 0x00020000},
	{"newcgroup", 0x02000000},
	{"newuts", 0x04000000},
	{"newipc", 0x08000000},
	{"newuser", 0x10000000},
	{"newpid", 0x20000000},
	{"newnet", 0x40000000},
}

// MountFlagNames are the MS_* flags a MOUNT record may carry, by JSON name.
var MountFlagNames = []NamedBit{
	{"rdonly", 0x1}, {"nosuid", 0x2}, {"nodev", 0x4}, {"noexec", 0x8},
	{"synchronous", 0x10}, {"remount", 0x20}, {"mandlock", 0x40}, {"dirsync", 0x80},
	{"nosymfollow", 0x100}, {"noatime", 0x400}, {"nodiratime", 0x800}, {"bind", 0x1000},
	{"move", 0x2000}, {"rec", 0x4000}, {"silent", 0x8000}, {"posixacl", 0x10000},
	{"unbindable", 0x20000}, {"private", 0x40000}, {"slave", 0x80000}, {"shared", 0x100000},
	{"relatime", 0x200000}, {"i_version", 0x800000}, {"strictatime", 0x1000000},
	{"lazytime", 0x2000000},
}

// Mount options (record MOUNT).
const (
	// MountMkdir creates the target's missing parents and the target itself.
	MountMkdir uint32 = 1 << 0
	// MountFile (with MountMkdir) creates the target as an empty file (go-sandbox's MakeNod).
	MountFile uint32 = 1 << 1
)

// Mount operation kinds (record MOUNT_OP); the JSON `type` names are MountKindNames.
const (
	KindBind      uint16 = 1
	KindTmpfs     uint16 = 2
	KindProc      uint16 = 3
	KindDev       uint16 = 4
	KindMqueue    uint16 = 5
	KindDir       uint16 = 6
	KindSymlink   uint16 = 7
	KindFile      uint16 = 8
	KindRemountRO uint16 = 9
	KindMask      uint16 = 10
	KindBindData  uint16 = 11
	// The overlays: their layers are the record's content (OverlayLayers).
	KindOverlay    uint16 = 12
	KindTmpOverlay uint16 = 13
	KindRoOverlay  uint16 = 14
	// The mode of an existing target (bubblewrap's --chmod); its mode has no default.
	KindChmod uint16 = 15
)

// MountKindNames are the mount operation kinds' JSON names (index = kind; "" for none).
var MountKindNames = [...]string{
	"", "bind", "tmpfs", "proc", "dev", "mqueue", "dir", "symlink", "file", "remount_ro", "mask",
	"bind_data", "overlay", "tmp_overlay", "ro_overlay", "chmod",
}

// MountKindDefaultMode is the mode a client fills in for a kind when none is given (the
// "default mode" column of docs/spec.md's kinds table; 0 for the kinds without a mode).
var MountKindDefaultMode = map[uint16]uint32{
	KindTmpfs: 0o755, KindDir: 0o755, KindFile: 0o644, KindBindData: 0o600,
}

// OverlayLayers is an overlay's MOUNT_OP content: upper and work (for KindOverlay; empty
// otherwise), then the lower directories, topmost first, each NUL-terminated.
func OverlayLayers(upper, work string, lower ...string) []byte {
	var b []byte
	for _, p := range append([]string{upper, work}, lower...) {
		if p != "" {
			b = append(append(b, p...), 0)
		}
	}
	return b
}

// Mount operation flags (record MOUNT_OP).
const (
	OpOptional uint16 = 1 << 0
	OpReadonly uint16 = 1 << 1
	OpDev      uint16 = 1 << 2
	OpCover    uint16 = 1 << 3
)

// Landlock rights and scopes (docs/spec.md's generated Landlock tables: the kernel's bits), by
// name.
var (
	LandlockFSNames = []NamedBit{
		{"execute", 0x1}, {"write_file", 0x2}, {"read_file", 0x4}, {"read_dir", 0x8},
		{"remove_dir", 0x10}, {"remove_file", 0x20}, {"make_char", 0x40}, {"make_dir", 0x80},
		{"make_reg", 0x100}, {"make_sock", 0x200}, {"make_fifo", 0x400}, {"make_block", 0x800},
		{"make_sym", 0x1000}, {"refer", 0x2000}, {"truncate", 0x4000}, {"ioctl_dev", 0x8000},
	}
	LandlockNetNames   = []NamedBit{{"bind_tcp", 0x1}, {"connect_tcp", 0x2}}
	LandlockScopeNames = []NamedBit{{"abstract_unix_socket", 0x1}, {"signal", 0x2}}
)

const (
	// LandlockFSKnown and LandlockNetKnown are every right of their kind: what the JSON
	// form's `fs` and `net` (present, even empty) make the ruleset handle.
	LandlockFSKnown  uint64 = 0xffff
	LandlockNetKnown uint64 = 0x3
	// LandlockFSRead (read_file, read_dir) and LandlockFSWrite (every right but execute and
	// the reading ones) are the JSON form's groups `read` and `write`.
	LandlockFSRead  uint64 = 0x4 | 0x8
	LandlockFSWrite uint64 = LandlockFSKnown &^ (0x1 | LandlockFSRead)
	// LandlockExact is the LANDLOCK flag EXACT.
	LandlockExact uint32 = 1 << 0
	// CapsLeaveSets is the CAPS flag LEAVE_SETS.
	CapsLeaveSets uint32 = 1 << 0
)

// CredNoSetgroups is the credential flag that skips setgroups.
const CredNoSetgroups uint32 = 1 << 0

// RlimitNames are the RLIMIT_* resources by number, as the JSON form names them.
var RlimitNames = [...]string{
	"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile", "memlock", "as",
	"locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
}

// Limits (docs/spec.md "Limits") a client checks before it spawns anything.
const (
	MaxSpecLen = 4 << 20
	// MaxFd: every fd in a spec is below 2^20.
	MaxFd = 1 << 20
)
