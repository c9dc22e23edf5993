package deploy

import (
	"bufio"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/dsr-project/dsr/internal/config"
)

// repoRoot is the repository, seen from this package's directory (where go test runs).
const repoRoot = ".."

// problems collects what a check finds; a check passes when it finds none.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// report fails t with every problem, one per line.
func report(t *testing.T, what string, ps problems) {
	t.Helper()
	if len(ps) > 0 {
		t.Errorf("%s: %d problem(s):\n  %s", what, len(ps), strings.Join(ps, "\n  "))
	}
}

// wantProblem fails t unless one of ps contains every fragment: the check under test
// must notice the fault that was put in.
func wantProblem(t *testing.T, ps problems, fragments ...string) {
	t.Helper()
	for _, p := range ps {
		all := true
		for _, f := range fragments {
			if !strings.Contains(p, f) {
				all = false
				break
			}
		}
		if all {
			return
		}
	}
	t.Errorf("no problem mentions %q; found:\n  %s", fragments, strings.Join(ps, "\n  "))
}

// ---- dsr settings ---------------------------------------------------------------------------

// modes are the production subcommands the deployment files run.
var modes = map[string]config.Mode{
	"api":     config.ModeAPI,
	"worker":  config.ModeWorker,
	"migrate": config.ModeMigrate,
}

// requiredByMode are the settings a role cannot start without (README.md).
var requiredByMode = map[config.Mode][]string{
	config.ModeAPI:     {"DATABASE_URL", "DSR_SECRET_KEY", "DSR_PUBLIC_URL", "DSR_CODEC_KEYS"},
	config.ModeWorker:  {"DATABASE_URL", "DSR_SECRET_KEY", "DSR_PUBLIC_URL", "DSR_CODEC_KEYS", "DSR_SMTP_HOST"},
	config.ModeMigrate: {"DATABASE_URL"},
}

func setting(env string) (config.Setting, bool) {
	for _, s := range config.Settings {
		if s.Env == env {
			return s, true
		}
	}
	return config.Setting{}, false
}

func usedBy(s config.Setting, m config.Mode) bool { return slices.Contains(s.Modes, m) }

// checkEnvNames reports names that are no dsr setting, and, when explicit, settings the
// mode does not read: a value given to a role that ignores it is either a mistake or a
// secret handed out for nothing.
func checkEnvNames(ps *problems, where string, mode config.Mode, env map[string]string, explicit map[string]bool) {
	for _, name := range sortedKeys(env) {
		s, ok := setting(name)
		switch {
		case !ok:
			ps.addf("%s: %s is not a dsr setting (config.Settings)", where, name)
		case explicit[name] && !usedBy(s, mode):
			ps.addf("%s: %s is set but `dsr %s` does not read it", where, name, mode)
		}
	}
}

// checkRequired reports required settings that are missing, and non-secret ones that are
// empty (a secret may be an empty placeholder in an example).
func checkRequired(ps *problems, where string, mode config.Mode, env map[string]string) {
	for _, name := range requiredByMode[mode] {
		v, ok := env[name]
		s, _ := setting(name)
		switch {
		case !ok:
			ps.addf("%s: `dsr %s` needs %s, which is not set", where, mode, name)
		case v == "" && !s.Secret:
			ps.addf("%s: `dsr %s` needs %s, which is empty", where, mode, name)
		}
	}
}

// placeholder reports whether v is an example's stand-in for a secret.
func placeholder(v string) bool { return v == "" || strings.Contains(v, "REPLACE") }

// testSecrets are valid values for the secrets an example leaves as placeholders.
var testSecrets = func() map[string]string {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	return map[string]string{
		"DSR_SECRET_KEY":  strings.Repeat("5a", 32),
		"DSR_CODEC_KEYS":  "k1:" + base64.StdEncoding.EncodeToString(key),
		"DSR_SIGNING_KEY": base64.StdEncoding.EncodeToString(key[:ed25519.SeedSize]),
	}
}()

// loadConfig runs config.Load for mode on env, as the process would at start, after
// putting valid secrets in place of placeholders and a readable file in place of each
// TLS file path (what is at that path in a pod is checked separately).
func loadConfig(t *testing.T, mode config.Mode, env map[string]string) error {
	t.Helper()
	vals := map[string]string{}
	for k, v := range env {
		vals[k] = v
	}
	for k, v := range testSecrets {
		if cur, ok := vals[k]; ok && placeholder(cur) {
			vals[k] = v
		}
	}
	for _, k := range []string{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "DSR_DATA_MAP"} {
		if vals[k] != "" {
			f := filepath.Join(t.TempDir(), filepath.Base(vals[k]))
			if err := os.WriteFile(f, []byte("placeholder"), 0o600); err != nil {
				t.Fatal(err)
			}
			vals[k] = f
		}
	}
	fs := pflag.NewFlagSet(string(mode), pflag.ContinueOnError)
	config.Register(fs, mode)
	_, err := config.Load(fs, mode, func(k string) (string, bool) {
		v, ok := vals[k]
		return v, ok
	})
	return err
}

// shutdownTimeout is DSR_SHUTDOWN_TIMEOUT as a process with env would read it.
func shutdownTimeout(env map[string]string) (time.Duration, error) {
	v, ok := env["DSR_SHUTDOWN_TIMEOUT"]
	if !ok {
		s, _ := setting("DSR_SHUTDOWN_TIMEOUT")
		v = s.Default
	}
	return time.ParseDuration(v)
}

// httpPort is the port of a host:port listen address, and whether the host is loopback
// (unreachable from outside the container).
func httpPort(addr string) (port int, loopback bool, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false, err
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		return 0, false, err
	}
	ip := net.ParseIP(host)
	return port, host == "localhost" || (ip != nil && ip.IsLoopback()), nil
}

// ---- files ----------------------------------------------------------------------------------

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parseEnvFile reads KEY=VALUE lines as Compose's env_file does: # starts a comment line,
// blank lines are skipped, and matching quotes around a value are removed.
func parseEnvFile(text string) (map[string]string, error) {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		if !ok || !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
			return nil, fmt.Errorf("line %d: want KEY=VALUE, got %q", n, line)
		}
		if _, dup := env[k]; dup {
			return nil, fmt.Errorf("line %d: %s is set twice", n, k)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env, sc.Err()
}

// goModVersions reads the go directive and the versions of required modules from go.mod.
func goModVersions(t *testing.T) (goVersion string, modules map[string]string) {
	t.Helper()
	modules = map[string]string{}
	for _, line := range strings.Split(readFile(t, filepath.Join(repoRoot, "go.mod")), "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		switch {
		case len(f) == 2 && f[0] == "go":
			goVersion = f[1]
		case len(f) >= 2 && strings.HasPrefix(f[1], "v") && f[0] != "module" && f[0] != "require":
			modules[f[0]] = strings.TrimPrefix(f[1], "v")
		case len(f) >= 3 && f[0] == "require" && strings.HasPrefix(f[2], "v"):
			modules[f[1]] = strings.TrimPrefix(f[2], "v")
		}
	}
	if goVersion == "" {
		t.Fatal("go.mod has no go directive")
	}
	return goVersion, modules
}

// imageTag splits an image reference into name and tag ("" when untagged); a digest
// counts as a tag.
func imageTag(ref string) (name, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mergeEnv(layers ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}
