package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsr-project/dsr/internal/testenv"
)

// cluster is the production shape under test: the throw-away PostgreSQL, the script's
// processes on it, and the stores' database.
type cluster struct {
	pg      *testenv.Postgres
	dir     string   // the script's --dir
	bin     string   // the binaries the script runs
	env     []string // the script's environment
	apis    []string // base URLs
	token   string   // an admin token for the staff API
	appURL  string   // dsr's database
	stores  *pgxpool.Pool
	scriptM sync.Mutex // one script run at a time, as an operator would
}

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// startCluster brings the whole shape up and tears it down when the test ends.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{pg: testenv.StartPostgres(t), dir: t.TempDir()}
	c.bin = binaries(t)
	storesURL := c.database(t, "stores")
	c.stores = createStores(t, storesURL)
	dataMap := filepath.Join(t.TempDir(), "datamap.yaml")
	if err := os.WriteFile(dataMap, []byte(storesDataMap), 0o600); err != nil {
		t.Fatal(err)
	}
	c.env = append(callerEnv(),
		"LOCAL_CLUSTER_BIN="+c.bin, "LOCAL_CLUSTER_NO_BUILD=1",
		"LOCAL_CLUSTER_PORT_BASE="+strconv.Itoa(testenv.FreePortRange(t, 14)),
		"LOCAL_CLUSTER_DB_PREFIX=faults",
		"PGHOST=127.0.0.1", "PGPORT="+strconv.Itoa(c.pg.Port), "PGUSER=postgres", "PGPASSWORD=",
		"DSR_SECRET_KEY="+randomHex(32),
		"DSR_CODEC_KEYS=f1:"+base64.StdEncoding.EncodeToString([]byte(randomHex(16))),
		"DSR_LOG_LEVEL=info", "DSR_DEMO_STORE=off", "DSR_DATA_MAP="+dataMap,
		// The load comes from one address; the driver names a client per request in
		// X-Forwarded-For so that the per-IP rate limits see many requesters, as in life.
		"DSR_TRUSTED_PROXIES=127.0.0.1/32",
		"FAULTS_CRM_DSN="+withSearchPath(storesURL, "crm"), "FAULTS_BILLING_DSN="+withSearchPath(storesURL, "billing"),
	)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs:\n%s", c.logTails())
		}
		if out, err := c.script("stop"); err != nil {
			t.Errorf("stop: %v\n%s", err, out)
		}
	})
	out, err := c.script("start")
	if err != nil {
		t.Fatalf("local-cluster.sh start: %v\n%s", err, out)
	}
	for _, m := range regexp.MustCompile(`(?m)^API:\s+(\S+)$`).FindAllStringSubmatch(out, -1) {
		c.apis = append(c.apis, m[1])
	}
	if len(c.apis) != 2 {
		t.Fatalf("start printed %d API URLs, want 2:\n%s", len(c.apis), out)
	}
	c.appURL = c.pgURL("faults_app")
	c.token = c.adminToken(t)
	return c
}

// binaries returns a directory with the script's programs: dsr built from this checkout,
// and the pinned Temporal tools and the sink reused from the shared cache of the deploy
// tests when there (linking the Temporal server costs minutes), else built here.
func binaries(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cache, _ := os.UserCacheDir()
	shared := filepath.Join(cache, "dsr-local-cluster", "bin")
	if b := os.Getenv("LOCAL_CLUSTER_BIN"); b != "" {
		shared = b
	}
	builds := map[string]string{
		"temporal-server":   "go.temporal.io/server/cmd/server",
		"temporal-sql-tool": "go.temporal.io/server/cmd/tools/sql",
		"temporal":          "github.com/temporalio/cli/cmd/temporal",
		"smtpsink":          "./deploy/localcluster/smtpsink",
	}
	for name, pkg := range builds {
		if _, err := os.Stat(filepath.Join(shared, name)); err == nil {
			if err := os.Symlink(filepath.Join(shared, name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		goBuild(t, filepath.Join(dir, name), pkg)
	}
	goBuild(t, filepath.Join(dir, "dsr"), "./cmd/dsr")
	return dir
}

func goBuild(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// script runs deploy/local-cluster.sh with the cluster's environment.
func (c *cluster) script(args ...string) (string, error) {
	c.scriptM.Lock()
	defer c.scriptM.Unlock()
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot, "deploy", "local-cluster.sh")}, append(args, "--dir", c.dir)...)...)
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// heal re-runs start, as an operator's supervisor would: whatever is missing starts again.
func (c *cluster) heal() error {
	out, err := c.script("start")
	if err != nil {
		return fmt.Errorf("local-cluster.sh start: %v\n%s", err, out)
	}
	return nil
}

// pid reads the PID the script recorded for one of its processes.
func (c *cluster) pid(name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "run", name+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// kill9 kills one of the script's processes with SIGKILL and waits until it is gone.
func (c *cluster) kill9(name string) error {
	pid, err := c.pid(name)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s (pid %d): %w", name, pid, err)
	}
	for deadline := time.Now().Add(30 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (pid %d) still runs 30s after SIGKILL", name, pid)
		}
	}
	return nil
}

func (c *cluster) pgURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.pg.Port, db)
}

// database creates a database on the throw-away server and returns its URL.
func (c *cluster) database(t *testing.T, name string) string {
	t.Helper()
	admin, err := pgxpool.New(t.Context(), c.pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return c.pgURL(name)
}

// adminToken makes a staff token with the cluster's own binary, as an operator does.
func (c *cluster) adminToken(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, "dsr"), "token", "create", "--role", "admin", "--name", "fault-suite")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+c.appURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dsr token create: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// verifyAuditLog runs `dsr audit verify-log` against the application database.
func (c *cluster) verifyAuditLog() error {
	cmd := exec.Command(filepath.Join(c.bin, "dsr"), "audit", "verify-log", "--database-url", c.appURL)
	cmd.Env = callerEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("dsr audit verify-log: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// logTails returns the end of every process log and of PostgreSQL's, for failure messages.
func (c *cluster) logTails() string {
	files, _ := filepath.Glob(filepath.Join(c.dir, "logs", "*.log"))
	var b strings.Builder
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		fmt.Fprintf(&b, "---- %s\n%s\n", filepath.Base(f), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	fmt.Fprintf(&b, "---- postgresql\n%s\n", c.pg.LogTail(15))
	return b.String()
}

// callerEnv is this process's environment without any setting of dsr, Temporal, PostgreSQL
// or the script, so that only what the suite sets reaches the cluster.
func callerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "DSR_") || strings.HasPrefix(name, "TEMPORAL_") || strings.HasPrefix(name, "LOCAL_CLUSTER_") ||
			strings.HasPrefix(name, "PG") || name == "DATABASE_URL" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func withSearchPath(dsn, schema string) string {
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// permanentError stops retry: trying again cannot help.
type permanentError struct{ error }

func (e *permanentError) Unwrap() error { return e.error }

func permanent(err error) error { return &permanentError{err} }

// retry runs f until it succeeds or the context ends, pausing between tries; the faults make
// any single call fail for a while.
func retry(ctx context.Context, every time.Duration, f func() error) error {
	for {
		err := f()
		var stop *permanentError
		if err == nil || errors.As(err, &stop) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(every):
		}
	}
}
