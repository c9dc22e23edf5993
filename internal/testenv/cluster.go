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
	"testing"
)

var (
	clusterMu sync.Mutex
	shared    *Postgres // the lazily started cluster of postgresServer, if any
)

// Postgres is a private PostgreSQL cluster started from the local binaries in a temporary
// directory, on a free loopback port, with trust authentication for the user postgres.
// Fault tests restart it; nothing else shares it.
type Postgres struct {
	URL  string // of the database postgres
	Port int
	dir  string
	bin  string
	opts string
}

// StartPostgres starts a throw-away cluster for one test and stops it, removing its files,
// when the test ends. Unlike PostgresURL it never touches the machine's shared server.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	pg, err := startPostgres()
	if err != nil {
		t.Fatalf("testenv: throw-away PostgreSQL: %v", err)
	}
	t.Cleanup(pg.stop)
	return pg
}

// Restart restarts the server as an operator would (pg_ctl restart, fast shutdown): every
// open connection is cut and the server answers again once recovered.
func (p *Postgres) Restart() error {
	if out, err := p.ctl("-m", "fast", "-w", "-t", "120", "restart"); err != nil {
		return fmt.Errorf("pg_ctl restart: %v: %s", err, out)
	}
	return nil
}

// LogTail returns the server log's last lines, for a failure message.
func (p *Postgres) LogTail(lines int) string {
	raw, _ := os.ReadFile(filepath.Join(p.dir, "log"))
	all := strings.Split(strings.TrimSpace(string(raw)), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

func (p *Postgres) ctl(args ...string) ([]byte, error) {
	full := append([]string{"-D", filepath.Join(p.dir, "data"), "-o", p.opts, "-l", filepath.Join(p.dir, "log")}, args...)
	return pgCommand(filepath.Join(p.bin, "pg_ctl"), full...).CombinedOutput()
}

func (p *Postgres) stop() {
	p.ctl("-m", "immediate", "stop") //nolint:errcheck // best effort: the directory goes next
	os.RemoveAll(p.dir)
}

// runAs is the command prefix that runs PostgreSQL's binaries: they refuse to run as root,
// so as root they run as the postgres system user.
var runAs []string

// startPostgres initialises and starts a private cluster.
func startPostgres() (*Postgres, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dsr-test-pg-")
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		clusterMu.Lock()
		runAs = []string{"runuser", "-u", "postgres", "--"}
		clusterMu.Unlock()
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := pgCommand(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	p := &Postgres{Port: port, dir: dir, bin: bin,
		opts: fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", port, dir)}
	if out, err := p.ctl("-w", "start"); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return p, nil
}

// startCluster starts the package-wide fallback cluster of postgresServer.
func startCluster() (string, error) {
	p, err := startPostgres()
	if err != nil {
		return "", err
	}
	clusterMu.Lock()
	shared = p
	clusterMu.Unlock()
	return p.URL, nil
}

func stopCluster() {
	clusterMu.Lock()
	p := shared
	shared = nil
	clusterMu.Unlock()
	if p != nil {
		p.stop()
	}
}

func pgCommand(name string, args ...string) *exec.Cmd {
	clusterMu.Lock()
	full := append(append([]string{}, runAs...), name)
	clusterMu.Unlock()
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
