package bench

import "testing"

// A Target without its own client must share one, or every call opens a new connection
// and a load run measures TCP handshakes.
func TestTargetWithoutClientReusesOne(t *testing.T) {
	var a, b Target
	if a.httpClient() != b.httpClient() || a.httpClient() == nil {
		t.Fatal("targets without an HTTP client got different clients")
	}
	own := NewHTTPClient(1)
	if (Target{HTTP: own}).httpClient() != own {
		t.Fatal("a target's own HTTP client was not used")
	}
}
