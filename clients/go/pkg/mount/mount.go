// Package mount describes the mounts of a forkexec Runner, with go-sandbox's pkg/mount API:
// Mount (mount(2)'s arguments), SyscallParams (what Runner.Mounts holds) and Builder.
//
// Besides raw mounts (MOUNT records, docs/spec.md), an entry may be a mount operation (a
// MOUNT_OP record: Mount.Op set), one of the common mounts of a sandbox described by its kind,
// with the mount flags chosen by the helper: a bind that is always nosuid, a tmpfs with a
// mode and a size, a fresh proc, a minimal /dev, a directory, a symlink, a file with content,
// a recursive read-only remount, a mask. Raw mounts and operations share one list and one
// index space (an error's Index is the entry's position).
package mount

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"forkexec/pkg/spec"
)

// Mount defines one mount: mount(2)'s arguments, or a mount operation when Op is set (then
// Target is the operation's target and the other fields must be empty).
type Mount struct {
	Source, Target, FsType, Data string
	Flags                        uintptr
	// Op makes this entry a mount operation (forkexec's own; not in go-sandbox).
	Op *Op
}

// SyscallParams is one entry of Runner.Mounts: go-sandbox's raw mount(2) arguments. Source,
// FsType and Data may be nil (NULL); Prefixes is kept for go-sandbox's layout (the helper
// creates the target's parents itself). MakeNod creates the target as an empty file, for
// binding a file.
type SyscallParams struct {
	Source, Target, FsType, Data *byte
	Flags                        uintptr
	Prefixes                     []*byte
	MakeNod                      bool
	// Op makes this entry a mount operation (Target is its target; the other fields are
	// ignored).
	Op *Op
}

// Kind is a mount operation kind (docs/spec.md "Mount operation kinds").
type Kind uint16

// The mount operation kinds.
const (
	KindBind      Kind = 1  // recursive bind, always nosuid; nodev unless Dev
	KindTmpfs     Kind = 2  // a new tmpfs (nosuid, nodev) with Mode and Size
	KindProc      Kind = 3  // a new proc of the target's pid namespace
	KindDev       Kind = 4  // a minimal /dev
	KindMqueue    Kind = 5  // a new mqueue of the target's ipc namespace
	KindDir       Kind = 6  // a directory with exactly Mode
	KindSymlink   Kind = 7  // a symlink whose text is Source
	KindFile      Kind = 8  // a file with exactly Mode holding Content, or what Fd reads to EOF
	KindRemountRO Kind = 9  // the mount at the target and every mount below it read-only
	KindMask      Kind = 10 // hides the target (an empty read-only directory or file over it)
	KindBindData  Kind = 11 // a file holding Content (or what Fd reads), bound on the target
	// An overlayfs of Lower (host directories, topmost first) under Upper (writes) with Work.
	KindOverlay Kind = 12
	// An overlayfs of Lower whose writes go to a private tmpfs, gone with the sandbox.
	KindTmpOverlay Kind = 13
	// A read-only overlayfs of two or more Lower directories.
	KindRoOverlay Kind = 14
	// The existing target gets exactly Mode (bubblewrap's --chmod); nothing is created.
	KindChmod Kind = 15
)

// String is the kind's JSON name (docs/spec.md).
func (k Kind) String() string {
	if int(k) < len(spec.MountKindNames) && k > 0 {
		return spec.MountKindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint16(k))
}

// Op is a mount operation (a MOUNT_OP record). What each kind takes is in docs/spec.md;
// a field a kind does not take is refused by the helper (spec error, BadValue or Conflict).
type Op struct {
	Kind Kind
	// Source is a bind's source path, or a symlink's text.
	Source string
	// Fd is a bind's source or a file's content, an fd of this process passed to the helper at
	// the same number; 0 means none (as go-sandbox's ExecFile).
	Fd uintptr
	// Content is a file's bytes.
	Content []byte
	// Mode is exact (umask 0); 0 takes the default: 0755 for tmpfs and dir, 0644 for file,
	// 0600 for bind_data.
	Mode uint32
	// Size is a tmpfs's size in bytes (0: the kernel's default).
	Size uint64
	// Readonly (bind, tmpfs, bind_data), Dev (bind: device nodes usable), Optional (bind: skip a missing
	// source; mask: skip a missing target).
	Readonly, Dev, Optional bool
	// Cover (proc): bubblewrap's read-only covers over sys, sysrq-trigger, irq and bus where
	// the helper may write to them, the proc itself writable.
	Cover bool
	// Lower (the overlays) are host directories, topmost first; Upper and Work (KindOverlay)
	// take the writes and the kernel's work directory.
	Lower       []string
	Upper, Work string
}

// ToSyscall converts Mount to SyscallParams.
func (m *Mount) ToSyscall() (*SyscallParams, error) {
	target, err := syscall.BytePtrFromString(m.Target)
	if err != nil {
		return nil, err
	}
	if m.Op != nil {
		op := *m.Op
		return &SyscallParams{Target: target, Op: &op}, nil
	}
	source, err := syscall.BytePtrFromString(m.Source)
	if err != nil {
		return nil, err
	}
	fsType, err := syscall.BytePtrFromString(m.FsType)
	if err != nil {
		return nil, err
	}
	var data *byte
	if m.Data != "" {
		if data, err = syscall.BytePtrFromString(m.Data); err != nil {
			return nil, err
		}
	}
	var prefixes []*byte
	for _, p := range pathPrefix(m.Target) {
		b, err := syscall.BytePtrFromString(p)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, b)
	}
	return &SyscallParams{Source: source, Target: target, FsType: fsType, Data: data,
		Flags: m.Flags, Prefixes: prefixes}, nil
}

// pathPrefix gets all components from path.
func pathPrefix(path string) []string {
	ret := make([]string, 0)
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			ret = append(ret, path[:i])
		}
	}
	return append(ret, path)
}

// GoString reads a NUL-terminated C string (as SyscallParams holds them); nil is "". At
// most 1 MiB is read: a longer string would be refused by the helper anyway.
func GoString(p *byte) string {
	if p == nil {
		return ""
	}
	var b []byte
	for i := uintptr(0); i < 1<<20; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// IsBindMount returns if it is a bind mount.
func (m Mount) IsBindMount() bool {
	if m.Op != nil {
		return m.Op.Kind == KindBind
	}
	return m.Flags&syscall.MS_BIND == syscall.MS_BIND
}

// IsReadOnly returns if it is a read-only mount.
func (m Mount) IsReadOnly() bool {
	if m.Op != nil {
		return m.Op.Readonly
	}
	return m.Flags&syscall.MS_RDONLY == syscall.MS_RDONLY
}

// IsTmpFs returns if the fsType is tmpfs.
func (m Mount) IsTmpFs() bool {
	if m.Op != nil {
		return m.Op.Kind == KindTmpfs
	}
	return m.FsType == "tmpfs"
}

func (m Mount) String() string {
	flag := "rw"
	if m.IsReadOnly() {
		flag = "ro"
	}
	switch {
	case m.Op != nil && m.Op.Kind == KindBind:
		return fmt.Sprintf("bind[%s:%s:%s]", m.Op.Source, m.Target, flag)
	case m.Op != nil:
		return fmt.Sprintf("%s[%s]", m.Op.Kind, m.Target)
	case m.Flags&syscall.MS_BIND == syscall.MS_BIND:
		return fmt.Sprintf("bind[%s:%s:%s]", m.Source, m.Target, flag)
	case m.FsType == "tmpfs":
		return fmt.Sprintf("tmpfs[%s]", m.Target)
	case m.FsType == "proc":
		return fmt.Sprintf("proc[%s]", flag)
	default:
		return fmt.Sprintf("mount[%s,%s:%s:%x,%s]", m.FsType, m.Source, m.Target, m.Flags, m.Data)
	}
}

// Builder builds the Runner's mount list.
type Builder struct {
	Mounts []Mount
}

// NewBuilder creates a new, empty builder.
func NewBuilder() *Builder {
	return &Builder{}
}

const (
	bind  = syscall.MS_BIND | syscall.MS_NOSUID | syscall.MS_PRIVATE | syscall.MS_REC
	mFlag = syscall.MS_NOSUID | syscall.MS_NOATIME | syscall.MS_NODEV
)

// NewDefaultBuilder creates go-sandbox's default builder for a minimal root: /usr, /lib,
// /lib64 and /bin bound read-only.
func NewDefaultBuilder() *Builder {
	return NewBuilder().
		WithBind("/usr", "usr", true).
		WithBind("/lib", "lib", true).
		WithBind("/lib64", "lib64", true).
		WithBind("/bin", "bin", true)
}

// Build creates the Runner.Mounts list. A raw bind whose source does not exist is an error
// (FilterNotExist drops those first); a raw bind of a file gets MakeNod.
func (b *Builder) Build() ([]SyscallParams, error) {
	ret := make([]SyscallParams, 0, len(b.Mounts))
	for _, m := range b.Mounts {
		var mknod bool
		if m.Op == nil && m.IsBindMount() {
			fi, err := os.Stat(m.Source)
			if err != nil {
				return nil, err
			}
			mknod = !fi.IsDir()
		}
		sp, err := m.ToSyscall()
		if err != nil {
			return nil, err
		}
		sp.MakeNod = mknod
		ret = append(ret, *sp)
	}
	return ret, nil
}

// FilterNotExist removes the raw bind mounts whose source does not exist. (A bind operation
// says the same with Optional, checked by the helper when it mounts.)
func (b *Builder) FilterNotExist() *Builder {
	rt := b.Mounts[:0]
	for _, m := range b.Mounts {
		if m.Op == nil && m.IsBindMount() {
			if _, err := os.Stat(m.Source); os.IsNotExist(err) {
				continue
			}
		}
		rt = append(rt, m)
	}
	b.Mounts = rt
	return b
}

// WithMounts adds mounts.
func (b *Builder) WithMounts(m []Mount) *Builder {
	b.Mounts = append(b.Mounts, m...)
	return b
}

// WithMount adds one mount.
func (b *Builder) WithMount(m Mount) *Builder {
	b.Mounts = append(b.Mounts, m)
	return b
}

// WithBind adds a raw recursive bind mount (nosuid, private), read-only if asked.
func (b *Builder) WithBind(source, target string, readonly bool) *Builder {
	var flags uintptr = bind
	if readonly {
		flags |= syscall.MS_RDONLY
	}
	return b.WithMount(Mount{Source: source, Target: target, Flags: flags})
}

// WithTmpfs adds a raw tmpfs mount (nosuid, noatime, nodev) with mount data such as
// "size=8m,mode=1777".
func (b *Builder) WithTmpfs(target, data string) *Builder {
	return b.WithMount(Mount{Source: "tmpfs", Target: target, FsType: "tmpfs", Flags: mFlag, Data: data})
}

// WithProc adds a read-only proc file system at "proc".
func (b *Builder) WithProc() *Builder {
	return b.WithProcRW(false)
}

// WithProcRW adds a proc file system at "proc", possibly read-write.
func (b *Builder) WithProcRW(canWrite bool) *Builder {
	var flags uintptr = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC
	if !canWrite {
		flags |= syscall.MS_RDONLY
	}
	return b.WithMount(Mount{Source: "proc", Target: "proc", FsType: "proc", Flags: flags})
}

// WithOp adds a mount operation at target (an absolute path).
func (b *Builder) WithOp(target string, op Op) *Builder {
	return b.WithMount(Mount{Target: target, Op: &op})
}

func (b Builder) String() string {
	var sb strings.Builder
	sb.WriteString("Mounts: ")
	for i, m := range b.Mounts {
		sb.WriteString(m.String())
		if i != len(b.Mounts)-1 {
			sb.WriteString(", ")
		}
	}
	return sb.String()
}
