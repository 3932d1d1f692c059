// Package rlimit provides the resource limits of a forkexec Runner, with go-sandbox's
// pkg/rlimit API: RLimit (one setrlimit) and RLimits (the usual limits of a judge, turned
// into a list by PrepareRLimit).
package rlimit

import (
	"fmt"
	"strings"
	"syscall"
)

// RLimits defines the rlimits applied to the target.
type RLimits struct {
	CPU          uint64 // in s
	CPUHard      uint64 // in s
	Data         uint64 // in bytes
	FileSize     uint64 // in bytes
	Stack        uint64 // in bytes
	AddressSpace uint64 // in bytes
	OpenFile     uint64 // count
	DisableCore  bool   // set core to 0
}

// RLimit is one resource limit, as setrlimit takes it.
type RLimit struct {
	// Res is the resource (e.g. syscall.RLIMIT_CPU), below 16.
	Res int
	// Rlim is the soft (Cur) and hard (Max) limit.
	Rlim syscall.Rlimit
}

// PrepareRLimit turns the non-zero fields into RLimits, in go-sandbox's order: CPU (hard limit
// at least the soft one), data, file size, stack, address space, open files, core.
func (r *RLimits) PrepareRLimit() []RLimit {
	var ret []RLimit
	add := func(res int, cur, max uint64) {
		ret = append(ret, RLimit{Res: res, Rlim: syscall.Rlimit{Cur: cur, Max: max}})
	}
	if r.CPU > 0 {
		hard := r.CPUHard
		if hard < r.CPU {
			hard = r.CPU
		}
		add(syscall.RLIMIT_CPU, r.CPU, hard)
	}
	if r.Data > 0 {
		add(syscall.RLIMIT_DATA, r.Data, r.Data)
	}
	if r.FileSize > 0 {
		add(syscall.RLIMIT_FSIZE, r.FileSize, r.FileSize)
	}
	if r.Stack > 0 {
		add(syscall.RLIMIT_STACK, r.Stack, r.Stack)
	}
	if r.AddressSpace > 0 {
		add(syscall.RLIMIT_AS, r.AddressSpace, r.AddressSpace)
	}
	if r.OpenFile > 0 {
		add(syscall.RLIMIT_NOFILE, r.OpenFile, r.OpenFile)
	}
	if r.DisableCore {
		add(syscall.RLIMIT_CORE, 0, 0)
	}
	return ret
}

// size prints a byte count in binary units, as go-sandbox's runner.Size does.
func size(n uint64) string {
	switch {
	case n == ^uint64(0):
		return "unlimited"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (r RLimit) String() string {
	t := ""
	switch r.Res {
	case syscall.RLIMIT_CPU:
		return fmt.Sprintf("CPU[%d s:%d s]", r.Rlim.Cur, r.Rlim.Max)
	case syscall.RLIMIT_NOFILE:
		return fmt.Sprintf("OpenFile[%d:%d]", r.Rlim.Cur, r.Rlim.Max)
	case syscall.RLIMIT_DATA:
		t = "Data"
	case syscall.RLIMIT_FSIZE:
		t = "File"
	case syscall.RLIMIT_STACK:
		t = "Stack"
	case syscall.RLIMIT_AS:
		t = "AddressSpace"
	case syscall.RLIMIT_CORE:
		t = "Core"
	default:
		t = fmt.Sprintf("Resource%d", r.Res)
	}
	return fmt.Sprintf("%s[%v:%v]", t, size(r.Rlim.Cur), size(r.Rlim.Max))
}

func (r RLimits) String() string {
	var sb strings.Builder
	sb.WriteString("RLimits[")
	for i, rl := range r.PrepareRLimit() {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(rl.String())
	}
	sb.WriteString("]")
	return sb.String()
}
