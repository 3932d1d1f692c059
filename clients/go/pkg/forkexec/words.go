package forkexec

import (
	"fmt"

	"forkexec/pkg/spec"
)

// Words is the failure in the words every forkexec front end uses (crates/spec/src/render.rs;
// the helper prints the same line on stderr when nobody reads its records):
// `location(index) SUBJECT: errno text`, e.g. `mount(source)(3) /data: no such file or
// directory`, or `spec(offset N): fault (errno text)` for a refused spec. Error() keeps
// go-sandbox's shorter form.
func (e ChildError) Words() string {
	if e.Location == LocSpec {
		return e.Error()
	}
	subject := ""
	if e.Subject != "" {
		subject = " " + e.Subject
	}
	return fmt.Sprintf("%s(%d)%s: %s", e.Location.String(), e.Index, subject, e.Err.Error())
}

// subjectOf is what an error record's index refers to in the spec, when there is one worth
// naming (render.rs's subject).
func subjectOf(s *spec.Spec, loc ErrorLocation, index int) string {
	fdText := func(fd int) string { return fmt.Sprintf("fd %d", fd) }
	switch loc {
	case LocMount, LocMountMkdir, LocMountPath:
		if index < len(s.Mounts) {
			switch m := s.Mounts[index].(type) {
			case *spec.RawMount:
				return m.Target
			case *spec.MountOp:
				return m.Target
			}
		}
	case LocMountSource:
		if index < len(s.Mounts) {
			switch m := s.Mounts[index].(type) {
			case *spec.RawMount:
				return m.Source
			case *spec.MountOp:
				if m.Fd >= 0 {
					return fdText(m.Fd)
				}
				return m.Source
			}
		}
	case LocSetRlimit:
		if index < len(s.Rlimits) && int(s.Rlimits[index].Resource) < len(spec.RlimitNames) {
			return spec.RlimitNames[s.Rlimits[index].Resource]
		}
	case LocExecve:
		switch {
		case s.ExecPath != "":
			return s.ExecPath
		case s.ExecFd != nil:
			return fdText(*s.ExecFd)
		case len(s.Args) > 0:
			return s.Args[0]
		}
	case LocChdir:
		return s.WorkDir
	case LocMountTmpfs, LocMountChdir, LocPivotRoot:
		return s.PivotRoot
	case LocSetHostname:
		return s.HostName
	case LocSetDomainname:
		return s.DomainName
	case LocCgroup:
		return s.CgroupPath
	}
	return ""
}
