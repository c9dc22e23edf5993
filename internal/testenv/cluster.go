package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

var (
	clusterMu  sync.Mutex
	clusterDir string
	runAs      []string
)

// startCluster initialises and starts a private PostgreSQL cluster in a temporary directory,
// on a free port, with trust authentication. PostgreSQL refuses to run as root, so as root
// it runs the binaries as the postgres system user.
func startCluster() (string, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "dsr-test-pg-")
	if err != nil {
		return "", err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	data := filepath.Join(dir, "data")
	if out, err := pgCommand(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	if out, err := pgCommand(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-w", "-l", filepath.Join(dir, "log"), "start").CombinedOutput(); err != nil {
		return "", fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	clusterMu.Lock()
	clusterDir = dir
	clusterMu.Unlock()
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), nil
}

func stopCluster() {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if clusterDir == "" {
		return
	}
	bin, err := postgresBinDir()
	if err == nil {
		pgCommand(filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(clusterDir, "data"), "-m", "immediate", "stop").Run()
	}
	os.RemoveAll(clusterDir)
	clusterDir = ""
}

func pgCommand(name string, args ...string) *exec.Cmd {
	full := append(append([]string{}, runAs...), name)
	full = append(full, args...)
	return exec.Command(full[0], full[1:]...)
}

// postgresBinDir finds initdb: on PATH, from pg_config, or in Debian's versioned directories.
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("no initdb found: install PostgreSQL (Debian: apt-get install postgresql)")
	}
	sort.Strings(matches)
	return filepath.Dir(matches[len(matches)-1]), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
