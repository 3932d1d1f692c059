package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// The JSON form of crates/spec/vectors/README.md, read into a Spec: what the vectors' `# json:`
// lines stand for. Only the tests need it (the Go API is Runner and Spec).

type obj = map[string]json.RawMessage

func parseJSON(text string) (*Spec, error) {
	var top obj
	if err := strictUnmarshal([]byte(text), &top); err != nil {
		return nil, err
	}
	s := &Spec{}
	setsid := true
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		raw := top[key]
		if bit, ok := optionBit(key); ok {
			var b bool
			if err := strictUnmarshal(raw, &b); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			if key == "setsid" {
				setsid = b
			} else if b {
				s.Options |= bit
			}
			continue
		}
		var err error
		switch key {
		case "args":
			err = strictUnmarshal(raw, &s.Args)
		case "env":
			err = strictUnmarshal(raw, &s.Env)
		case "exec_path":
			err = strictUnmarshal(raw, &s.ExecPath)
		case "exec_file":
			s.ExecFd, err = fdOf(raw)
		case "status_fd":
			s.StatusFd, err = fdOf(raw)
		case "cgroup_fd":
			s.CgroupFd, err = fdOf(raw)
		case "info_fd":
			s.InfoFd, err = fdOf(raw)
		case "json_status_fd":
			s.JSONStatusFd, err = fdOf(raw)
		case "sync_fd":
			s.SyncFd, err = fdOf(raw)
		case "block_fd":
			s.BlockFd, err = fdOf(raw)
		case "userns_block_fd":
			s.UsernsBlockFd, err = fdOf(raw)
		case "lock_files":
			err = strictUnmarshal(raw, &s.LockFiles)
		case "landlock":
			if string(raw) != "null" {
				s.Landlock, err = landlockOf(raw)
			}
		case "join_ns":
			if string(raw) != "null" {
				var j struct {
					User  *int `json:"user"`
					Pid   *int `json:"pid"`
					User2 *int `json:"user2"`
				}
				if err = strictUnmarshal(raw, &j); err == nil {
					s.JoinNs = &JoinNs{User: j.User, Pid: j.Pid, User2: j.User2}
				}
			}
		case "caps":
			if string(raw) != "null" {
				var c struct {
					Keep      *[]uint `json:"keep"`
					LeaveSets bool    `json:"leave_sets"`
				}
				if err = strictUnmarshal(raw, &c); err == nil && c.Keep == nil {
					err = fmt.Errorf("keep: missing")
				}
				if err == nil {
					s.Caps = &Caps{LeaveSets: c.LeaveSets}
					for _, n := range *c.Keep {
						if n > 63 {
							err = fmt.Errorf("capability %d is not 0-63", n)
							break
						}
						s.Caps.Keep |= 1 << n
					}
				}
			}
		case "cgroup":
			err = strictUnmarshal(raw, &s.CgroupPath)
		case "work_dir":
			err = strictUnmarshal(raw, &s.WorkDir)
		case "pivot_root":
			err = strictUnmarshal(raw, &s.PivotRoot)
		case "host_name":
			err = strictUnmarshal(raw, &s.HostName)
		case "domain_name":
			err = strictUnmarshal(raw, &s.DomainName)
		case "files":
			err = strictUnmarshal(raw, &s.Files)
		case "rlimits":
			var items []struct {
				Resource json.RawMessage `json:"resource"`
				Cur, Max json.Number
			}
			if err = strictUnmarshal(raw, &items); err == nil {
				for _, it := range items {
					r := Rlimit{}
					if r.Resource, err = rlimitResource(it.Resource); err != nil {
						break
					}
					if r.Cur, err = u64(it.Cur); err != nil {
						break
					}
					if r.Max, err = u64(it.Max); err != nil {
						break
					}
					s.Rlimits = append(s.Rlimits, r)
				}
			}
		case "seccomp":
			// One program (a list of instructions) or a list of programs.
			type insn struct {
				Code uint16 `json:"code"`
				Jt   uint8  `json:"jt"`
				Jf   uint8  `json:"jf"`
				K    uint32 `json:"k"`
			}
			var programs [][]insn
			if strictUnmarshal(raw, &programs) != nil {
				var one []insn
				if err = strictUnmarshal(raw, &one); err == nil {
					programs = [][]insn{one}
				}
			}
			for _, items := range programs {
				if len(items) == 0 {
					continue // "seccomp": [] writes no record in the vectors' JSON form
				}
				program := []SockFilter{}
				for _, it := range items {
					program = append(program, SockFilter{it.Code, it.Jt, it.Jf, it.K})
				}
				s.Seccomp = append(s.Seccomp, program)
			}
		case "clone_flags":
			var names []string
			if err = strictUnmarshal(raw, &names); err == nil {
				for _, n := range names {
					bit, ok := lookup(n, CloneFlagNames)
					if !ok {
						err = fmt.Errorf("unknown clone flag %q", n)
						break
					}
					s.CloneFlags |= bit
				}
			}
		case "mounts":
			var items []json.RawMessage
			if err = strictUnmarshal(raw, &items); err == nil {
				for i, it := range items {
					var m Mount
					if m, err = mountOf(it); err != nil {
						err = fmt.Errorf("[%d]: %w", i, err)
						break
					}
					s.Mounts = append(s.Mounts, m)
				}
			}
		case "uid_mappings":
			s.UIDMappings, err = idMapOf(raw)
		case "gid_mappings":
			s.GIDMappings, err = idMapOf(raw)
		case "credential":
			if string(raw) != "null" {
				var c struct {
					UID         uint32   `json:"uid"`
					GID         uint32   `json:"gid"`
					Groups      []uint32 `json:"groups"`
					NoSetGroups bool     `json:"no_set_groups"`
				}
				if err = strictUnmarshal(raw, &c); err == nil {
					s.Credential = &Credential{c.UID, c.GID, c.Groups, c.NoSetGroups}
				}
			}
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if !setsid {
		s.Options |= OptNoSetsid
	}
	return s, nil
}

// landlockOf reads the `landlock` object: `fs` and `net` present (even empty) handle every
// right of their kind; rights by name or, for `fs`, the groups `read` and `write`.
func landlockOf(raw json.RawMessage) (*Landlock, error) {
	var v struct {
		Exact bool `json:"exact"`
		FS    *[]struct {
			Path   string   `json:"path"`
			Access []string `json:"access"`
		} `json:"fs"`
		Net *[]struct {
			Port   uint16   `json:"port"`
			Access []string `json:"access"`
		} `json:"net"`
		Scope []string `json:"scope"`
	}
	if err := strictUnmarshal(raw, &v); err != nil {
		return nil, err
	}
	l := &Landlock{Exact: v.Exact}
	var err error
	if l.Scoped, err = namedBits(v.Scope, LandlockScopeNames, nil); err != nil {
		return nil, fmt.Errorf("scope: %w", err)
	}
	groups := map[string]uint64{"read": LandlockFSRead, "write": LandlockFSWrite}
	if v.FS != nil {
		l.HandledFS = LandlockFSKnown
		for i, r := range *v.FS {
			access, err := namedBits(r.Access, LandlockFSNames, groups)
			if err != nil {
				return nil, fmt.Errorf("fs[%d]: %w", i, err)
			}
			l.Paths = append(l.Paths, LandlockPath{Access: access, Path: r.Path})
		}
	}
	if v.Net != nil {
		l.HandledNet = LandlockNetKnown
		for i, r := range *v.Net {
			access, err := namedBits(r.Access, LandlockNetNames, nil)
			if err != nil {
				return nil, fmt.Errorf("net[%d]: %w", i, err)
			}
			l.Ports = append(l.Ports, LandlockPort{Access: access, Port: uint64(r.Port)})
		}
	}
	return l, nil
}

// namedBits ors the bits of names from table (or groups).
func namedBits(names []string, table []NamedBit, groups map[string]uint64) (uint64, error) {
	var bits uint64
	for _, n := range names {
		if g, ok := groups[n]; ok {
			bits |= g
			continue
		}
		bit, ok := lookup(n, table)
		if !ok {
			return 0, fmt.Errorf("unknown name %q", n)
		}
		bits |= bit
	}
	return bits, nil
}

func strictUnmarshal(raw []byte, v interface{}) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	d.UseNumber()
	return d.Decode(v)
}

func optionBit(key string) (uint64, bool) {
	for _, o := range OptionNames {
		if o.JSON == key {
			return o.Bit, true
		}
	}
	return 0, false
}

func lookup(name string, table []NamedBit) (uint64, bool) {
	for _, e := range table {
		if e.Name == name {
			return e.Bit, true
		}
	}
	return 0, false
}

func fdOf(raw json.RawMessage) (*int, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var fd int
	if err := strictUnmarshal(raw, &fd); err != nil {
		return nil, err
	}
	return &fd, nil
}

// u64 reads a JSON integer of up to 64 bits (RLIM_INFINITY is 2^64-1, beyond float64).
func u64(n json.Number) (uint64, error) {
	v, ok := new(big.Int).SetString(string(n), 10)
	if !ok || v.Sign() < 0 || !v.IsUint64() {
		return 0, fmt.Errorf("%s is not a u64", n)
	}
	return v.Uint64(), nil
}

func rlimitResource(raw json.RawMessage) (uint32, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		for i, n := range RlimitNames {
			if n == name {
				return uint32(i), nil
			}
		}
		return 0, fmt.Errorf("unknown rlimit resource %q", name)
	}
	var n uint32
	err := strictUnmarshal(raw, &n)
	return n, err
}

func idMapOf(raw json.RawMessage) ([]IDMap, error) {
	var items []struct {
		ContainerID uint32 `json:"container_id"`
		HostID      uint32 `json:"host_id"`
		Size        uint32 `json:"size"`
	}
	if err := strictUnmarshal(raw, &items); err != nil {
		return nil, err
	}
	var out []IDMap
	for _, it := range items {
		out = append(out, IDMap{it.ContainerID, it.HostID, it.Size})
	}
	return out, nil
}

func mountOf(raw json.RawMessage) (Mount, error) {
	var fields obj
	if err := strictUnmarshal(raw, &fields); err != nil {
		return nil, err
	}
	if _, ok := fields["type"]; !ok {
		var m struct {
			Source  string   `json:"source"`
			Target  string   `json:"target"`
			FsType  string   `json:"fstype"`
			Data    string   `json:"data"`
			Flags   []string `json:"flags"`
			Mkdir   *bool    `json:"mkdir"`
			File    bool     `json:"file"`
			MakeNod bool     `json:"make_nod"`
		}
		if err := strictUnmarshal(raw, &m); err != nil {
			return nil, err
		}
		r := &RawMount{Source: m.Source, Target: m.Target, FsType: m.FsType, Data: m.Data}
		for _, f := range m.Flags {
			bit, ok := lookup(f, MountFlagNames)
			if !ok {
				return nil, fmt.Errorf("unknown mount flag %q", f)
			}
			r.Flags |= bit
		}
		if m.Mkdir == nil || *m.Mkdir { // mkdir defaults to true
			r.Options |= MountMkdir
		}
		if m.File || m.MakeNod {
			r.Options |= MountFile
		}
		return r, nil
	}
	var m struct {
		Type      string          `json:"type"`
		Target    string          `json:"target"`
		Source    *string         `json:"source"`
		SourceFd  *int            `json:"source_fd"`
		Content   *string         `json:"content"`
		ContentFd *int            `json:"content_fd"`
		Mode      json.RawMessage `json:"mode"`
		Size      json.RawMessage `json:"size"`
		Readonly  bool            `json:"readonly"`
		Dev       bool            `json:"dev"`
		Optional  bool            `json:"optional"`
		Cover     bool            `json:"cover"`
		Lower     []string        `json:"lower"`
		Upper     string          `json:"upper"`
		Work      string          `json:"work"`
	}
	if err := strictUnmarshal(raw, &m); err != nil {
		return nil, err
	}
	op := &MountOp{Target: m.Target, Fd: -1}
	for k, n := range MountKindNames {
		if n == m.Type && n != "" {
			op.Kind = uint16(k)
		}
	}
	if op.Kind == 0 {
		return nil, fmt.Errorf("unknown mount type %q", m.Type)
	}
	op.Mode = MountKindDefaultMode[op.Kind]
	if m.Source != nil {
		op.Source = *m.Source
	}
	if m.Content != nil {
		op.Content = []byte(*m.Content)
	}
	if m.Lower != nil {
		op.Content = OverlayLayers(m.Upper, m.Work, m.Lower...)
	}
	if m.SourceFd != nil {
		op.Fd = *m.SourceFd
	}
	if m.ContentFd != nil {
		op.Fd = *m.ContentFd
	}
	if len(m.Mode) > 0 {
		var text string
		if json.Unmarshal(m.Mode, &text) == nil {
			v, err := strconv.ParseUint(text, 8, 32)
			if err != nil {
				return nil, fmt.Errorf("mode %q is not octal", text)
			}
			op.Mode = uint32(v)
		} else if err := strictUnmarshal(m.Mode, &op.Mode); err != nil {
			return nil, err
		}
	}
	if len(m.Size) > 0 {
		var text string
		if json.Unmarshal(m.Size, &text) == nil {
			shift := map[byte]uint{'k': 10, 'm': 20, 'g': 30}[strings.ToLower(text[len(text)-1:])[0]]
			if shift > 0 {
				text = text[:len(text)-1]
			}
			v, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("size %q", text)
			}
			op.Size = v << shift
		} else if err := strictUnmarshal(m.Size, &op.Size); err != nil {
			return nil, err
		}
	}
	if m.Readonly {
		op.Flags |= OpReadonly
	}
	if m.Dev {
		op.Flags |= OpDev
	}
	if m.Optional {
		op.Flags |= OpOptional
	}
	if m.Cover {
		op.Flags |= OpCover
	}
	return op, nil
}
