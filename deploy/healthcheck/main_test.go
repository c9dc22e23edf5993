package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.Write([]byte(`{"status":"ready"}`))
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"not ready","down":["worker"]}`))
		case "/moved":
			http.Redirect(w, r, "/readyz", http.StatusFound)
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		}
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"ready", []string{srv.URL + "/readyz"}, 0, ""},
		{"not ready names what is down", []string{srv.URL + "/down"}, 1, `503 Service Unavailable: {"status":"not ready","down":["worker"]}`},
		{"redirect is not followed", []string{srv.URL + "/moved"}, 1, "302 Found"},
		{"timeout", []string{"--timeout", "50ms", srv.URL + "/slow"}, 1, "Timeout"},
		{"refused", []string{"http://127.0.0.1:1/readyz"}, 1, "refused"},
		{"no URL", nil, 1, "usage"},
		{"two URLs", []string{srv.URL, srv.URL}, 1, "usage"},
		{"not http", []string{"file:///etc/passwd"}, 1, "want an http(s) URL"},
		{"bad flag", []string{"--nope", srv.URL}, 1, "not defined"},
		{"zero timeout", []string{"--timeout", "0s", srv.URL + "/readyz"}, 1, "positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(tc.args, &stderr); code != tc.code {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if tc.want == "" && stderr.Len() > 0 {
				t.Fatalf("stderr %q, want nothing", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not contain %q", stderr.String(), tc.want)
			}
		})
	}
}
