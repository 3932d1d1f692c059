package forkexec

import (
	"fmt"
	"syscall"

	"forkexec/pkg/spec"
)

// ErrorLocation is the step where the helper failed (docs/spec.md "Error locations").
// 1-32 are go-sandbox's numbers and names.
type ErrorLocation int

// ChildError is a step that failed: nothing of the target ran. Err, Location and Index are
// go-sandbox's; Detail is the fault number of a LocSpec error (the byte offset is Index), and
// Subject what Index refers to in the spec (a mount's target, a bind's source, the rlimit's
// resource, the program, the directory…; empty when nothing is worth naming), for Words.
type ChildError struct {
	Err      syscall.Errno
	Location ErrorLocation
	Index    int
	Detail   int
	Subject  string
}

// Location constants: go-sandbox's (1-32), then forkexec's own steps.
const (
	LocClone ErrorLocation = iota + 1
	LocCloseWrite
	LocUnshareUserRead
	LocGetPid
	LocKeepCapability
	LocSetGroups
	LocSetGid
	LocSetUid
	LocDup3
	LocFcntl
	LocSetSid
	LocIoctl
	LocMountRoot
	LocMountTmpfs
	LocMountChdir
	LocMount
	LocMountMkdir
	LocPivotRoot
	LocUmount
	LocUnlink
	LocMountRootReadonly
	LocChdir
	LocSetRlimit
	LocSetNoNewPrivs
	LocDropCapability
	LocSetCap
	LocPtraceMe
	LocStop
	LocSeccomp
	LocSyncWrite
	LocSyncRead
	LocExecve
	LocSpecRead
	LocSpec
	LocUnshare
	LocWriteSetgroups
	LocWriteUIDMap
	LocWriteGIDMap
	LocSetHostname
	LocSetDomainname
	LocCloseRange
	LocGetCap
	LocCgroup
	LocPdeathsig
	LocSupervise
	LocPrivilegedInstall
	LocSetDumpable
	LocMountPath
	LocMountSource
)

// String is the location's name in docs/spec.md (23 is `setrlimit`; go-sandbox spells it
// `setrlimt`), or `unknown(N)`.
func (e ErrorLocation) String() string {
	if e < 0 {
		return fmt.Sprintf("unknown(%d)", int(e))
	}
	return spec.LocationName(uint32(e))
}

// Error prints the error as go-sandbox does (`mount(3): operation not permitted`, the index
// only when it is not 0), and a spec error with its fault:
// `spec(offset 45): fd out of range (bad file descriptor)`.
func (e ChildError) Error() string {
	if e.Location == LocSpec {
		return fmt.Sprintf("spec(offset %d): %s (%s)", e.Index, spec.FaultText(uint32(e.Detail)), e.Err.Error())
	}
	if e.Index > 0 {
		return fmt.Sprintf("%s(%d): %s", e.Location.String(), e.Index, e.Err.Error())
	}
	return fmt.Sprintf("%s: %s", e.Location.String(), e.Err.Error())
}

// Unwrap gives the errno, so errors.Is(err, syscall.ENOENT) works.
func (e ChildError) Unwrap() error { return e.Err }

func childError(r spec.Record) ChildError {
	return ChildError{Err: syscall.Errno(r.Errno), Location: ErrorLocation(r.Location),
		Index: int(r.Index), Detail: int(r.Detail)}
}
