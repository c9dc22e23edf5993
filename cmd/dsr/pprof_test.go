package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPprofServesProfilesOnLoopbackOnly(t *testing.T) {
	addr, err := servePprof(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Errorf("goroutine profile: %d %.200s", resp.StatusCode, body)
	}
	if resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("/debug/pprof/cmdline is served; flags may carry secrets")
		}
	}
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "nonsense"} {
		if _, err := servePprof(t.Context(), bad); err == nil {
			t.Errorf("--pprof %s was accepted", bad)
		}
	}
}
