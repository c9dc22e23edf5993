package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// CallJSON sends body as JSON with an optional bearer token, decodes the JSON answer into
// out when out is not nil, and returns the status code. Tests that drive dsr's API from
// outside use it.
func CallJSON(t testing.TB, method, url, token string, body, out any) int {
	t.Helper()
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, url, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %d, body not JSON: %v", method, url, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}
