package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/demo"
)

// In `dsr dev`, whose payloads are encrypted and whose stores run in one activity, the
// auditor's page names every store the request ran in, each with the time to the second
// its step was recorded, and the local activities of the request's bookkeeping.
func TestDevAuditPageNamesEveryStoreOfARequest(t *testing.T) {
	base, token, _ := devStack(t)
	_, view := demoRequest(t, base, token, "review", nil, map[string]any{"found": []string{"name"}})
	req, err := http.NewRequest(http.MethodGet, base+"/audit?request="+view.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("audit page = %d %v\n%s", resp.StatusCode, err, raw)
	}
	page := string(raw)
	fanOut := regexp.MustCompile(`RunStores · ([a-z_, -]+)</td>`).FindStringSubmatch(page)
	if fanOut == nil {
		t.Fatalf("the fan-out's line names no stores:\n%s", page)
	}
	if !strings.Contains(page, "<td>Local activity</td><td>ListStores</td>") {
		t.Errorf("the page does not name the local activity that lists the stores:\n%s", page)
	}
	stores := []string{demo.PaperArchiveStore, demo.SupportDeskStore}
	for _, s := range demoSQLStores(t) {
		stores = append(stores, s.Name)
	}
	for _, s := range stores {
		if !strings.Contains(fanOut[1], s) {
			t.Errorf("the fan-out's line %q lacks store %s", fanOut[1], s)
		}
		step := regexp.MustCompile(`\d\d:\d\d:\d\d UTC</time></td><td>store results</td><td>store ` + regexp.QuoteMeta(s) + `</td><td>Store done</td>`)
		if !step.MatchString(page) {
			t.Errorf("no recorded step, to the second, of store %s", s)
		}
	}
}
