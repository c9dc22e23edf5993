package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Process is a process whose CPU time a run reads: PID 0 is the bench's own process (the
// API and the worker, and the embedded engine when there is one). Its direct children
// count with it, so PostgreSQL's backends count with their postmaster.
type Process struct {
	Name string
	PID  int
}

// SelfProcess is the bench's own process.
var SelfProcess = Process{Name: "bench process", PID: 0}

// ParseProcesses reads NAME=PID pairs, comma-separated.
func ParseProcesses(list string) ([]Process, error) {
	var out []Process
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, pid, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(pid)
		if !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want NAME=PID", item)
		}
		out = append(out, Process{Name: name, PID: n})
	}
	return out, nil
}

// userHZ is the unit of /proc's CPU times, fixed at 100 for user space on Linux.
const userHZ = 100

// cpuTime is the CPU time (user and system) a process and its direct children used so far.
func cpuTime(p Process) (time.Duration, error) {
	self := "self"
	if p.PID != 0 {
		self = strconv.Itoa(p.PID)
	}
	pid, _, ticks, err := readStat(filepath.Join("/proc", self, "stat"))
	if err != nil {
		return 0, fmt.Errorf("CPU time of %s: %w", p.Name, err)
	}
	if p.PID != 0 {
		children, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, path := range children {
			if _, ppid, t, err := readStat(path); err == nil && ppid == pid {
				ticks += t
			}
		}
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// readStat returns a process's PID, its parent's, and its user plus system ticks.
func readStat(path string) (pid, ppid int, ticks int64, err error) {
	fields, err := statFields(path)
	if err != nil {
		return 0, 0, 0, err
	}
	pid, _ = strconv.Atoi(fields[0])
	ppid, _ = strconv.Atoi(fields[3])
	return pid, ppid, ticksOf(fields), nil
}

// statFields splits /proc/PID/stat with the command name (which may hold spaces) taken out:
// fields[0] is the PID, fields[3] the parent, fields[13] and [14] user and system ticks.
func statFields(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := string(raw)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return nil, fmt.Errorf("%s: unexpected format", path)
	}
	fields := append([]string{strings.TrimSpace(s[:open]), "comm"}, strings.Fields(s[close+1:])...)
	if len(fields) < 15 {
		return nil, fmt.Errorf("%s: unexpected format", path)
	}
	return fields, nil
}

func ticksOf(fields []string) int64 {
	utime, _ := strconv.ParseInt(fields[13], 10, 64)
	stime, _ := strconv.ParseInt(fields[14], 10, 64)
	return utime + stime
}

// cpuTimes reads every process's CPU time; a process it cannot read is left out.
func cpuTimes(ps []Process) map[string]time.Duration {
	out := make(map[string]time.Duration, len(ps))
	for _, p := range ps {
		if t, err := cpuTime(p); err == nil {
			out[p.Name] = t
		}
	}
	return out
}

// CPUFigures reports CPU milliseconds per call by process, for the side of a run that made
// them.
func (l Load) CPUFigures(who string, ps []Process) []Figure {
	var out []Figure
	for _, p := range ps {
		if t, ok := l.CPU[p.Name]; ok && len(l.Latencies) > 0 {
			out = append(out, Figure{Name: fmt.Sprintf("%s CPU per call, %s", who, p.Name),
				Value: float64(t.Milliseconds()) / float64(len(l.Latencies)), Unit: "CPU-ms"})
		}
	}
	return out
}
