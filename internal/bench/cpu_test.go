package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseProcesses(t *testing.T) {
	got, err := ParseProcesses(" temporal=4906, postgres=812 ,")
	if err != nil || len(got) != 2 || got[0] != (Process{"temporal", 4906}) || got[1] != (Process{"postgres", 812}) {
		t.Errorf("ParseProcesses = %v, %v", got, err)
	}
	for _, bad := range []string{"temporal", "=12", "x=0", "x=-3", "x=abc"} {
		if _, err := ParseProcesses(bad); err == nil {
			t.Errorf("ParseProcesses(%q) accepted", bad)
		}
	}
}

// A command name may hold spaces and parentheses; the fields after it still line up.
func TestStatFieldsSurviveAnOddCommandName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stat")
	line := "4242 (odd (name) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 1 1 1\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	pid, ppid, ticks, err := readStat(path)
	if err != nil || pid != 4242 || ppid != 17 || ticks != 325 {
		t.Errorf("readStat = %d, %d, %d, %v; want 4242, 17, 325", pid, ppid, ticks, err)
	}
}

func TestCPUTimeOfThisProcessGrowsWithWork(t *testing.T) {
	before, err := cpuTime(SelfProcess)
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
		x++
	}
	after, err := cpuTime(SelfProcess)
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 100*time.Millisecond {
		t.Errorf("300 ms of busy work read as %s of CPU (x=%d)", d, x)
	}
}
