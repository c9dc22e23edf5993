package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A broken agent directory stops the api and the worker at start, naming the file and the
// entry, and the protocol cannot be turned on without the business's id.
func TestABadDRPAgentDirectoryStopsStart(t *testing.T) {
	s := newStack(t)
	if err := run(t.Context(), []string{"migrate", "--database-url", s.dbURL}, &syncBuffer{}, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "agents.json")
	if err := os.WriteFile(path, []byte(`[{"id": "CR_AA_ONE", "name": "One", "verify_key": "c2hvcnQ="}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	api := append([]string{"api", "--http", "127.0.0.1:0", "--drp-agents", path, "--drp-business-id", "DSR_TEST"}, s.common...)
	for name, args := range map[string][]string{"api": api, "worker": s.workerArgs("--drp-agents", path)} {
		err := run(t.Context(), args, &syncBuffer{}, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `entry 1 (id "CR_AA_ONE"): verify_key`) {
			t.Errorf("%s: err = %v, want the file and the entry's verify_key named", name, err)
		}
	}
	noID := append([]string{"api", "--http", "127.0.0.1:0", "--drp-agents", path}, s.common...)
	if err := run(t.Context(), noID, &syncBuffer{}, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "DSR_DRP_BUSINESS_ID") {
		t.Errorf("without a business id: err = %v, want DSR_DRP_BUSINESS_ID named", err)
	}
}
