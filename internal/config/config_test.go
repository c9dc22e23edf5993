package config_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/tlog"
)

func load(t *testing.T, mode config.Mode, env map[string]string, args ...string) (config.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.Register(fs, mode)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return config.Load(fs, mode, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func TestDevDefaults(t *testing.T) {
	c, err := load(t, config.ModeDev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != "./.dsr-data" || c.TemporalPort != 7233 || c.UIPort != 8233 {
		t.Errorf("got %+v", c)
	}
	if c.LogFormat != "text" || c.DatabaseURL != "" || c.TaskQueue != "dsr" {
		t.Errorf("got %+v", c)
	}
}

func TestFlagWinsOverEnvironmentWhichWinsOverDefault(t *testing.T) {
	env := map[string]string{"DSR_HTTP_ADDR": "127.0.0.1:9000", "DSR_UI_PORT": "0"}
	c, err := load(t, config.ModeDev, env, "--http", "127.0.0.1:9100")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.HTTPAddr, "127.0.0.1:9100"; got != want {
		t.Errorf("HTTPAddr = %q, want %q", got, want)
	}
	if c.UIPort != 0 {
		t.Errorf("UIPort = %d, want 0 from the environment", c.UIPort)
	}
}

func TestBadValueNamesTheVariableInOneLine(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"DSR_TEMPORAL_PORT": "seventy"}, nil, "DSR_TEMPORAL_PORT (--temporal-port)"},
		{nil, []string{"--http", "nonsense"}, "DSR_HTTP_ADDR (--http)"},
		{map[string]string{"DSR_LOG_LEVEL": "loud"}, nil, "DSR_LOG_LEVEL"},
		{map[string]string{"DSR_SHUTDOWN_TIMEOUT": "-1s"}, nil, "DSR_SHUTDOWN_TIMEOUT"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, nil, "DATABASE_URL"},
	} {
		_, err := load(t, config.ModeDev, tc.env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("env %v args %v: err = %v, want one line naming %s", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestProductionNeedsDatabaseURL(t *testing.T) {
	for _, mode := range []config.Mode{config.ModeAPI, config.ModeWorker, config.ModeMigrate} {
		_, err := load(t, mode, nil)
		if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "is required") {
			t.Errorf("%s: err = %v, want DATABASE_URL said to be required", mode, err)
		}
	}
}

func TestSecretValuesAreNotEchoed(t *testing.T) {
	_, err := load(t, config.ModeAPI, map[string]string{"DATABASE_URL": "ftp://user:hunter2@host/db"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v, want an error without the secret", err)
	}
}

func TestTLSCertNeedsKey(t *testing.T) {
	cert := t.TempDir() + "/cert.pem"
	if err := os.WriteFile(cert, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := workerEnv()
	env["TEMPORAL_TLS_CERT"] = cert
	_, err := load(t, config.ModeWorker, env)
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_KEY") {
		t.Errorf("err = %v, want cert without key refused", err)
	}
}

func TestParseDatabaseURL(t *testing.T) {
	for raw, want := range map[string]config.Database{
		"postgres://u@db:5432/dsr":     {Kind: config.Postgres, DSN: "postgres://u@db:5432/dsr"},
		"postgresql://u@db/dsr":        {Kind: config.Postgres, DSN: "postgresql://u@db/dsr"},
		"sqlite:/var/lib/dsr/dsr.db":   {Kind: config.SQLite, DSN: "/var/lib/dsr/dsr.db"},
		"sqlite:///var/lib/dsr/dsr.db": {Kind: config.SQLite, DSN: "/var/lib/dsr/dsr.db"},
		"sqlite:data/dsr.db":           {Kind: config.SQLite, DSN: "data/dsr.db"},
	} {
		got, err := config.ParseDatabaseURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseDatabaseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, bad := range []string{"sqlite:", "postgres:///nohost", "mysql://h/db", ""} {
		if _, err := config.ParseDatabaseURL(bad); err == nil {
			t.Errorf("ParseDatabaseURL(%q) accepted", bad)
		}
	}
}

// The README's configuration reference must name every setting, so docs cannot drift.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings {
		row := "| `" + s.Env + "` | `--" + s.Flag + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README lacks a row starting %q", row)
		}
	}
}

func workerEnv() map[string]string {
	return map[string]string{
		"DATABASE_URL": "postgres://h/db", "DSR_SECRET_KEY": strings.Repeat("ab", 32),
		"DSR_PUBLIC_URL": "https://privacy.example.com/", "DSR_SMTP_HOST": "smtp.example.com",
		"DSR_CODEC_KEYS": "k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))),
	}
}

func TestWorkerNeedsSecretPublicURLAndSMTP(t *testing.T) {
	c, err := load(t, config.ModeWorker, workerEnv())
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://privacy.example.com" || c.SMTP.Port != 587 || len(c.Secret) != 32 {
		t.Errorf("got %+v", c)
	}
	for _, missing := range []string{"DSR_SECRET_KEY", "DSR_PUBLIC_URL", "DSR_SMTP_HOST", "DSR_CODEC_KEYS"} {
		env := workerEnv()
		delete(env, missing)
		if _, err := load(t, config.ModeWorker, env); err == nil || !strings.Contains(err.Error(), missing+" (--") || !strings.Contains(err.Error(), "is required") {
			t.Errorf("without %s: err = %v", missing, err)
		}
	}
}

func TestShortSecretIsRefusedWithoutEchoingIt(t *testing.T) {
	env := workerEnv()
	env["DSR_SECRET_KEY"] = "abcd1234"
	_, err := load(t, config.ModeWorker, env)
	if err == nil || strings.Contains(err.Error(), "abcd1234") || !strings.Contains(err.Error(), "DSR_SECRET_KEY") {
		t.Errorf("err = %v", err)
	}
}

func TestBrandingDefaultsSignAsThePrivacyTeam(t *testing.T) {
	c, err := load(t, config.ModeDev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Organization != "" || c.AccentColor != "#0b5394" || c.LogoFile != "" || c.PrivacyPolicyURL != "" {
		t.Errorf("branding defaults: %q %q %q %q", c.Organization, c.AccentColor, c.LogoFile, c.PrivacyPolicyURL)
	}
}

func TestBadBrandingIsRefusedNamingTheVariable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/logo.exe", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for env, v := range map[string]string{
		"DSR_ACCENT_COLOR":       "red",
		"DSR_PRIVACY_POLICY_URL": "javascript:alert(1)",
		"DSR_LOGO":               dir + "/logo.exe",
	} {
		if _, err := load(t, config.ModeDev, map[string]string{env: v}); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%s: err = %v", env, v, err)
		}
	}
}

func TestABrokenNoticeTemplateStopsStartNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/completion.nb.tmpl"
	body := `{{define "subject"}}x{{end}}{{define "text"}}{{.Data.Nope}}{{end}}{{define "html"}}x{{end}}`
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, config.ModeDev, map[string]string{"DSR_NOTICE_TEMPLATES": dir})
	if err == nil || !strings.Contains(err.Error(), "DSR_NOTICE_TEMPLATES") || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("err = %v, want one naming the variable, the file and the fault", err)
	}
}

func TestJurisdictionsOverrideReplacesTheBuiltInEntry(t *testing.T) {
	path := t.TempDir() + "/j.yaml"
	if err := os.WriteFile(path, []byte("cpa:\n  name: CPA\n  response: {days: 30, source: test}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, config.ModeDev, map[string]string{"DSR_JURISDICTIONS": path})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Jurisdictions.For(domain.JurisdictionCPA, c.Deadline).Response.Days; got != 30 {
		t.Errorf("cpa response = %d days, want the override's 30", got)
	}
}

func TestBadJurisdictionsFileStopsStartWithFileAndLine(t *testing.T) {
	path := t.TempDir() + "/j.yaml"
	if err := os.WriteFile(path, []byte("cpa:\n  name: CPA\n  response:\n    days: -1\n    source: test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, config.ModeDev, map[string]string{"DSR_JURISDICTIONS": path})
	want := "DSR_JURISDICTIONS (--jurisdictions): " + path + ":3: cpa.response: a period must not be negative"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestWithoutAJurisdictionsFileTheBuiltInTableApplies(t *testing.T) {
	c, err := load(t, config.ModeDev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Jurisdictions != domain.BuiltinJurisdictions() || c.Deadline.DefaultDays != 0 {
		t.Errorf("got %p and %d default days, want the built-in table and its own days", c.Jurisdictions, c.Deadline.DefaultDays)
	}
}

// DSR_LOG_WITNESSES holds "KEY URL" pairs; a key that is no cosignature verifier key, or a
// pair without a URL, stops start naming the variable.
func TestLogWitnessesAreKeyAndURLPairs(t *testing.T) {
	w1, w2 := witnessKey(t, "witness.example/w1"), witnessKey(t, "witness.example/w2")
	c, err := load(t, config.ModeDev, map[string]string{"DSR_LOG_WITNESSES": w1 + " https://w1.example/, " + w2 + " http://10.0.0.2:7380"})
	if err != nil {
		t.Fatal(err)
	}
	want := []config.LogWitness{{VerifierKey: w1, URL: "https://w1.example/"}, {VerifierKey: w2, URL: "http://10.0.0.2:7380"}}
	if !slices.Equal(c.LogWitnesses, want) {
		t.Errorf("witnesses %+v, want %+v", c.LogWitnesses, want)
	}
	for _, bad := range []string{w1, "not-a-key https://w1.example/", w1 + " ftp://w1.example/"} {
		if _, err := load(t, config.ModeDev, map[string]string{"DSR_LOG_WITNESSES": bad}); err == nil || !strings.Contains(err.Error(), "DSR_LOG_WITNESSES") {
			t.Errorf("%q: err = %v, want DSR_LOG_WITNESSES named", bad, err)
		}
	}
}

func witnessKey(t *testing.T, name string) string {
	t.Helper()
	skey, err := tlog.NewWitnessKey(name)
	if err != nil {
		t.Fatal(err)
	}
	logKey, err := tlog.VerifierKey([]byte("0123456789abcdef0123456789abcdef"), "dsr.test/log")
	if err != nil {
		t.Fatal(err)
	}
	w, err := tlog.NewWitness(skey, logKey, filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	return w.VerifierKey()
}
