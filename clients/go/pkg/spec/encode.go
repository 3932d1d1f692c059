package spec

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Spec is everything a spec can say, one field per record (docs/spec.md "Record types").
// Zero values mean "no record": an empty string or list, a nil pointer, zero bits.
type Spec struct {
	Args       []string       // ARGS (always written)
	Env        []string       // ENV
	ExecPath   string         // EXEC_PATH
	ExecFd     *int           // EXEC_FD
	Rlimits    []Rlimit       // one RLIMIT each, in order
	Files      []int          // FILES: target fd i = helper fd Files[i], -1 = closed
	WorkDir    string         // WORK_DIR
	Seccomp    [][]SockFilter // one SECCOMP each, loaded in order
	CloneFlags uint64         // CLONE_NEW* bits
	// Mounts are the MOUNT and MOUNT_OP records, in order (one index space).
	Mounts      []Mount
	PivotRoot   string
	HostName    string
	DomainName  string
	UIDMappings []IDMap
	GIDMappings []IDMap
	Credential  *Credential
	Options     uint64 // Opt* bits
	StatusFd    *int
	CgroupPath  string
	CgroupFd    *int
	// Landlock is the LANDLOCK record and its rules (LANDLOCK_PATH, LANDLOCK_PORT).
	Landlock      *Landlock
	InfoFd        *int // INFO_FD: bubblewrap's --info-fd
	JSONStatusFd  *int // JSON_STATUS_FD: bubblewrap's --json-status-fd
	JoinNs        *JoinNs
	LockFiles     []string // one LOCK_FILE each, in order (needs OptInit)
	SyncFd        *int     // SYNC_FD (needs OptInit)
	Caps          *Caps
	BlockFd       *int // BLOCK_FD
	UsernsBlockFd *int // USERNS_BLOCK_FD
}

// Landlock is the LANDLOCK record (the rights and scopes the ruleset restricts) and its
// rules, written after it in order: a LANDLOCK_PATH per Paths entry, a LANDLOCK_PORT per
// Ports entry. A handled right is denied unless a rule allows it. (The JSON form's `fs` and
// `net`, present even empty, handle every right of their kind: LandlockFSKnown,
// LandlockNetKnown.)
type Landlock struct {
	HandledFS  uint64 // LandlockFS* bits
	HandledNet uint64 // LandlockNet* bits
	Scoped     uint64 // LandlockScope* bits
	Exact      bool   // refuse a kernel that lacks a requested right (else best effort)
	Paths      []LandlockPath
	Ports      []LandlockPort
}

// LandlockPath allows filesystem rights (LandlockFS* bits) beneath an absolute path.
type LandlockPath struct {
	Access uint64
	Path   string
}

// LandlockPort allows network rights (LandlockNet* bits) on a TCP port.
type LandlockPort struct {
	Access uint64
	Port   uint64
}

// JoinNs is the JOIN_NS record: helper fds open on existing namespaces to join (nil: none).
type JoinNs struct {
	User, Pid, User2 *int
}

// Caps is the CAPS record: the capabilities the target keeps (bit n = capability n).
type Caps struct {
	Keep      uint64
	LeaveSets bool // CapsLeaveSets: leave the effective, permitted and inheritable sets
}

// Rlimit is one RLIMIT record: a resource (RLIMIT_*, below 16), its soft and hard limit.
type Rlimit struct {
	Resource uint32
	Cur, Max uint64
}

// SockFilter is one classic BPF instruction (struct sock_filter).
type SockFilter struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// IDMap is one uid_map or gid_map line.
type IDMap struct {
	ContainerID, HostID, Size uint32
}

// Credential is the CREDENTIAL record.
type Credential struct {
	UID, GID    uint32
	Groups      []uint32
	NoSetGroups bool
}

// Mount is one entry of Spec.Mounts: a *RawMount (a MOUNT record) or a *MountOp (MOUNT_OP).
type Mount interface {
	recordType() uint16
	payload(w *writer)
}

// RawMount is a MOUNT record: mount(2)'s arguments as they are.
type RawMount struct {
	Flags                        uint64 // MS_* (MountFlagNames)
	Options                      uint32 // MountMkdir, MountFile
	Source, Target, FsType, Data string
}

// MountOp is a MOUNT_OP record: a common mount of a sandbox, by kind.
type MountOp struct {
	Kind    uint16 // Kind*
	Flags   uint16 // Op*
	Mode    uint32
	Size    uint64
	Fd      int // a helper fd, or -1 for none
	Source  string
	Target  string
	Content []byte
}

func (*RawMount) recordType() uint16 { return RecMount }
func (*MountOp) recordType() uint16  { return RecMountOp }

func (m *RawMount) payload(w *writer) {
	w.u64(m.Flags)
	w.u32(m.Options)
	w.str(m.Source)
	w.str(m.Target)
	w.str(m.FsType)
	w.str(m.Data)
}

func (m *MountOp) payload(w *writer) {
	w.u16(m.Kind)
	w.u16(m.Flags)
	w.u32(m.Mode)
	w.u64(m.Size)
	w.u32(uint32(int32(m.Fd)))
	w.str(m.Source)
	w.str(m.Target)
	w.buf = append(w.buf, m.Content...)
}

type writer struct{ buf []byte }

func (w *writer) u16(v uint16) { w.buf = binary.LittleEndian.AppendUint16(w.buf, v) }
func (w *writer) u32(v uint32) { w.buf = binary.LittleEndian.AppendUint32(w.buf, v) }
func (w *writer) u64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }
func (w *writer) str(s string) { w.buf = append(append(w.buf, s...), 0) }

// flagIf is bit when on, else 0.
func flagIf(on bool, bit uint32) uint32 {
	if on {
		return bit
	}
	return 0
}

// record writes one record: its header, then the payload body() appends.
func (w *writer) record(ty uint16, body func()) {
	start := len(w.buf)
	w.u16(ty)
	w.u16(0)
	w.u32(0)
	body()
	binary.LittleEndian.PutUint32(w.buf[start+4:], uint32(len(w.buf)-start-RecordHeaderLen))
}

func (w *writer) fd(ty uint16, fd *int) {
	if fd != nil {
		w.record(ty, func() { w.u32(uint32(*fd)) })
	}
}

func (w *writer) single(ty uint16, s string) {
	if s != "" {
		w.record(ty, func() { w.str(s) })
	}
}

func (w *writer) idMap(ty uint16, m []IDMap) {
	if len(m) > 0 {
		w.record(ty, func() {
			for _, e := range m {
				w.u32(e.ContainerID)
				w.u32(e.HostID)
				w.u32(e.Size)
			}
		})
	}
}

// Encode writes the spec in the canonical encoding (crates/spec/vectors/README.md,
// "Canonical encoding"): records in type order with the mounts where MOUNT goes, a record
// only when its value carries something, record flags 0.
//
// Encode refuses only what bytes cannot carry: a NUL inside a string (it would end the string
// early and shift every later field). Everything else is the helper's to check, and it refuses
// a bad spec with a `spec` error record naming the fault and the byte offset.
func (s *Spec) Encode() ([]byte, error) {
	if err := s.checkStrings(); err != nil {
		return nil, err
	}
	w := &writer{buf: make([]byte, 0, 256)}
	w.buf = append(w.buf, Magic...)
	w.u16(Version)
	w.u16(0)
	w.u32(0) // total length, filled in below
	list := func(ty uint16, items []string) {
		w.record(ty, func() {
			for _, a := range items {
				w.str(a)
			}
		})
	}
	list(RecArgs, s.Args)
	if len(s.Env) > 0 {
		list(RecEnv, s.Env)
	}
	w.single(RecExecPath, s.ExecPath)
	w.fd(RecExecFd, s.ExecFd)
	for _, r := range s.Rlimits {
		r := r
		w.record(RecRlimit, func() {
			w.u32(r.Resource)
			w.u64(r.Cur)
			w.u64(r.Max)
		})
	}
	if len(s.Files) > 0 {
		w.record(RecFiles, func() {
			for _, fd := range s.Files {
				w.u32(uint32(int32(fd)))
			}
		})
	}
	w.single(RecWorkDir, s.WorkDir)
	for _, program := range s.Seccomp {
		w.record(RecSeccomp, func() {
			for _, f := range program {
				w.u16(f.Code)
				w.buf = append(w.buf, f.Jt, f.Jf)
				w.u32(f.K)
			}
		})
	}
	if s.CloneFlags != 0 {
		w.record(RecCloneFlags, func() { w.u64(s.CloneFlags) })
	}
	for _, m := range s.Mounts {
		m := m
		w.record(m.recordType(), func() { m.payload(w) })
	}
	w.single(RecPivotRoot, s.PivotRoot)
	w.single(RecHostName, s.HostName)
	w.single(RecDomainName, s.DomainName)
	w.idMap(RecUIDMap, s.UIDMappings)
	w.idMap(RecGIDMap, s.GIDMappings)
	if c := s.Credential; c != nil {
		w.record(RecCredential, func() {
			w.u32(c.UID)
			w.u32(c.GID)
			w.u32(flagIf(c.NoSetGroups, CredNoSetgroups))
			for _, g := range c.Groups {
				w.u32(g)
			}
		})
	}
	if s.Options != 0 {
		w.record(RecOptions, func() { w.u64(s.Options) })
	}
	w.fd(RecStatusFd, s.StatusFd)
	w.single(RecCgroupPath, s.CgroupPath)
	w.fd(RecCgroupFd, s.CgroupFd)
	if l := s.Landlock; l != nil {
		w.record(RecLandlock, func() {
			w.u64(l.HandledFS)
			w.u64(l.HandledNet)
			w.u64(l.Scoped)
			w.u32(flagIf(l.Exact, LandlockExact))
		})
		for _, r := range l.Paths {
			r := r
			w.record(RecLandlockPath, func() {
				w.u64(r.Access)
				w.str(r.Path)
			})
		}
		for _, r := range l.Ports {
			r := r
			w.record(RecLandlockPort, func() {
				w.u64(r.Access)
				w.u64(r.Port)
			})
		}
	}
	w.fd(RecInfoFd, s.InfoFd)
	w.fd(RecJSONStatusFd, s.JSONStatusFd)
	if j := s.JoinNs; j != nil {
		w.record(RecJoinNs, func() {
			for _, fd := range []*int{j.User, j.Pid, j.User2} {
				if fd == nil {
					w.u32(^uint32(0))
				} else {
					w.u32(uint32(int32(*fd)))
				}
			}
		})
	}
	for _, p := range s.LockFiles {
		p := p
		w.record(RecLockFile, func() { w.str(p) })
	}
	w.fd(RecSyncFd, s.SyncFd)
	if c := s.Caps; c != nil {
		w.record(RecCaps, func() {
			w.u64(c.Keep)
			w.u32(flagIf(c.LeaveSets, CapsLeaveSets))
		})
	}
	w.fd(RecBlockFd, s.BlockFd)
	w.fd(RecUsernsBlockFd, s.UsernsBlockFd)
	if len(w.buf) > MaxSpecLen {
		return nil, fmt.Errorf("spec: %d bytes, over the %d-byte limit", len(w.buf), MaxSpecLen)
	}
	binary.LittleEndian.PutUint32(w.buf[8:], uint32(len(w.buf)))
	return w.buf, nil
}

// checkStrings refuses a NUL inside any string field, naming the field.
func (s *Spec) checkStrings() error {
	check := func(field, v string) error {
		if i := strings.IndexByte(v, 0); i >= 0 {
			return fmt.Errorf("spec: %s: NUL inside a string (byte %d of %q)", field, i, v)
		}
		return nil
	}
	var err error
	each := func(field string, vs []string) {
		for i, v := range vs {
			if err == nil {
				err = check(fmt.Sprintf("%s[%d]", field, i), v)
			}
		}
	}
	one := func(field, v string) {
		if err == nil {
			err = check(field, v)
		}
	}
	each("args", s.Args)
	each("env", s.Env)
	one("exec_path", s.ExecPath)
	one("work_dir", s.WorkDir)
	for i, m := range s.Mounts {
		switch m := m.(type) {
		case *RawMount:
			each(fmt.Sprintf("mounts[%d]", i), []string{m.Source, m.Target, m.FsType, m.Data})
		case *MountOp:
			one(fmt.Sprintf("mounts[%d].source", i), m.Source)
			one(fmt.Sprintf("mounts[%d].target", i), m.Target)
		case nil:
			if err == nil {
				err = fmt.Errorf("spec: mounts[%d] is nil", i)
			}
		}
	}
	one("pivot_root", s.PivotRoot)
	one("host_name", s.HostName)
	one("domain_name", s.DomainName)
	one("cgroup", s.CgroupPath)
	if s.Landlock != nil {
		for i, r := range s.Landlock.Paths {
			one(fmt.Sprintf("landlock.fs[%d].path", i), r.Path)
		}
	}
	each("lock_files", s.LockFiles)
	return err
}
