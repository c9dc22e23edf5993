package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tryItBlocks returns the shell blocks of the README's "Try it" section: the one that starts
// the service, then the one pasted in a second shell.
func tryItBlocks(t *testing.T) (serve, paste string) {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	begin := strings.Index(readme, "\n## Try it\n")
	if begin < 0 {
		t.Fatal("README has no Try it section")
	}
	section := readme[begin+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) != 2 {
		t.Fatalf("Try it has %d sh blocks, want 2: one that starts the service, one to paste", len(blocks))
	}
	return blocks[0][1], blocks[1][1]
}

// The README's Try it runs as pasted: its second block runs in bash against a fresh
// `dsr dev` started the way its first block says, on ports of the test's own.
func TestREADMETryItRuns(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's Try it needs %s: %v", tool, err)
		}
	}
	serve, paste := tryItBlocks(t)
	wantStart := "export PORT=8080 DSR_TEMPORAL_PORT=7233 DSR_DATA_DIR=./.dsr-data\ngo run ./cmd/dsr dev --http 127.0.0.1:$PORT\n"
	if serve != wantStart {
		t.Fatalf("the block that starts the service is\n%s\nwant\n%s(the test starts dsr dev that way)", serve, wantStart)
	}
	if strings.Contains(paste, "8080") || strings.Contains(paste, "7233") {
		t.Error("the pasted block names a port instead of $PORT or $DSR_TEMPORAL_PORT")
	}

	port, temporalPort, dataDir := freePort(t), freePort(t), t.TempDir()
	for k, v := range map[string]string{"PORT": port, "DSR_TEMPORAL_PORT": temporalPort, "DSR_DATA_DIR": dataDir,
		"DSR_UI_PORT": "0", "DSR_METRICS_ADDR": "off", "DSR_LOG_LEVEL": "warn"} {
		t.Setenv(k, v)
	}
	p := start(t, "dev", "--http", "127.0.0.1:"+port)
	waitReady(t, p, "http://127.0.0.1:"+port)

	// `go run ./cmd/dsr` is this test binary, which runs the dsr command line when
	// benchChildEnv is set (see bench_test.go); every other command is the real one.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	shim := `go() { if [ "$1 $2" = "run ./cmd/dsr" ]; then shift 2; ` + benchChildEnv + `=1 "$DSR_TEST_BINARY" "$@"; else command go "$@"; fi; }` + "\n"
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", shim+paste)
	cmd.Dir, _ = filepath.Abs("../..")
	cmd.Env = append(os.Environ(), "DSR_TEST_BINARY="+exe)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Try it block failed: %v\n%s\ndsr dev:\n%s", err, out, p.out)
	}
	got := string(out)
	if n := strings.Count(got, `"status": "completed"`); n != 3 {
		t.Errorf("%d requests completed, want 3:\n%s", n, got)
	}
	for _, want := range []string{`"affiliate_sharing"`, `"postal_address"`, `"server_logs"`, `"newsletter_subscriptions"`, `"verified":true`, "application/zip, ", "dsr-"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %s:\n%s", want, got)
		}
	}
}
