// Linting of the OpenAPI document with Redocly CLI's recommended rules.

package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// redoclyVersion is pinned so that a new release's rules never fail a build by themselves.
const redoclyVersion = "2.77.0"

// redocly returns the path of the pinned Redocly CLI, installing it from the npm registry
// into the user's cache directory when it is missing there, as the browser tests install
// chromium. Without npm the lint cannot run, and the test says so and skips.
func redocly(t *testing.T) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed, so Redocly CLI cannot be: install Node.js and npm to lint openapi.yaml")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "dsr-tests", "redocly-cli-"+redoclyVersion)
	bin := filepath.Join(dir, "node_modules", ".bin", "redocly")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	// Installed beside its final place and renamed there, so a test binary running at the
	// same time never finds half an install.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "redocly-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	install := exec.Command(npm, "install", "--prefix", tmp, "--no-audit", "--no-fund", "--no-save", "@redocly/cli@"+redoclyVersion)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("install Redocly CLI %s with npm: %v\n%s", redoclyVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(bin); statErr != nil {
			t.Fatalf("install Redocly CLI: %v", err)
		}
	}
	return bin
}

// The document has no error under Redocly's recommended rules (warnings are allowed).
func TestOpenAPIDocumentPassesRedoclyRecommendedRules(t *testing.T) {
	bin := redocly(t)
	lint := exec.Command(bin, "lint", "--extends=recommended", "--format=stylish", "openapi.yaml")
	lint.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1")
	out, err := lint.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint --extends=recommended openapi.yaml: %v\n%s", err, out)
	}
}
