package api_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/auth"
	"github.com/dsr-project/dsr/internal/codec"
)

// The Web UI origins of the harness: one allowed by CORS, one trusted as `dsr dev`'s UI.
const (
	uiOrigin    = "https://temporal-ui.example"
	devUIOrigin = "http://127.0.0.1:8233"
)

func newCodecRing(t *testing.T) *codec.Keyring {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	ring, err := codec.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// plainPayloads are what the engine would hold without the codec: a person's address.
func plainPayloads(t *testing.T) []*commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"email": "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return []*commonpb.Payload{p}
}

func payloadsJSON(t *testing.T, payloads []*commonpb.Payload) string {
	t.Helper()
	raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestCodecEndpointRoundTripsPayloadsForTheSDKsRemoteCodec(t *testing.T) {
	h := newHarness(t, false)
	analyst := h.token("carol", auth.RoleAnalyst)
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+analyst)
			return nil
		},
	})
	plain := plainPayloads(t)
	encrypted, err := remote.Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(encrypted) != 1 || string(encrypted[0].Metadata[converter.MetadataEncoding]) != codec.EncodingEncrypted ||
		strings.Contains(string(encrypted[0].Data), "ada@") {
		t.Fatalf("encoded = %v, want one encrypted payload", encrypted)
	}
	if local, err := codec.New(h.codecRing).Decode(encrypted); err != nil || !proto.Equal(local[0], plain[0]) {
		t.Errorf("the server's encryption does not open with its key ring: %v", err)
	}
	decrypted, err := remote.Decode(encrypted)
	if err != nil || len(decrypted) != 1 || !proto.Equal(decrypted[0], plain[0]) {
		t.Errorf("decoded = %v, %v; want the original payload", decrypted, err)
	}
}

func TestCodecEndpointNeedsAToken(t *testing.T) {
	h := newHarness(t, false)
	for _, path := range []string{"/codec/encode", "/codec/decode"} {
		a := h.do(http.MethodPost, path, "", payloadsJSON(t, plainPayloads(t)), "")
		if a.code != http.StatusUnauthorized || a.errorBody(t).Code != "unauthorized" {
			t.Errorf("%s without a token = %d %s, want 401", path, a.code, a.body)
		}
	}
}

func TestAuditorMayDecodeButNotEncode(t *testing.T) {
	h := newHarness(t, false)
	auditor := h.token("ann", auth.RoleAuditor)
	encrypted, err := codec.New(h.codecRing).Encode(plainPayloads(t))
	if err != nil {
		t.Fatal(err)
	}
	a := h.do(http.MethodPost, "/codec/decode", "", payloadsJSON(t, encrypted), auditor)
	var got commonpb.Payloads
	if a.code != http.StatusOK || protojson.Unmarshal([]byte(a.body), &got) != nil || !proto.Equal(got.Payloads[0], plainPayloads(t)[0]) {
		t.Errorf("decode as auditor = %d %s, want the plain payload", a.code, a.body)
	}
	if a := h.do(http.MethodPost, "/codec/encode", "", payloadsJSON(t, plainPayloads(t)), auditor); a.code != http.StatusForbidden {
		t.Errorf("encode as auditor = %d %s, want 403", a.code, a.body)
	}
}

func TestCodecPreflightAnswersOnlyTheUIsOrigin(t *testing.T) {
	h := newHarness(t, false)
	for _, origin := range []string{uiOrigin, devUIOrigin} {
		a := h.send(http.MethodOptions, "/codec/decode", "", "", http.Header{
			"Origin": {origin}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"authorization,content-type,x-namespace"},
		})
		got := a.header
		if a.code != http.StatusNoContent || got.Get("Access-Control-Allow-Origin") != origin ||
			got.Get("Access-Control-Allow-Credentials") != "true" || got.Get("Access-Control-Allow-Methods") != "POST" ||
			got.Get("Access-Control-Allow-Headers") != "Content-Type, Authorization, X-Namespace" {
			t.Errorf("preflight from %s = %d %v, want 204 with the CORS headers", origin, a.code, got)
		}
	}
	a := h.send(http.MethodOptions, "/codec/decode", "", "", http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}})
	if a.code != http.StatusNoContent || a.header.Get("Access-Control-Allow-Origin") != "" || a.header.Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("preflight from another origin = %d %v, want no CORS headers", a.code, a.header)
	}
}

func TestCodecRefusalsReachTheUIsOrigin(t *testing.T) {
	h := newHarness(t, false)
	a := h.send(http.MethodPost, "/codec/decode", "{}", "", http.Header{"Origin": {uiOrigin}})
	if a.code != http.StatusUnauthorized || a.header.Get("Access-Control-Allow-Origin") != uiOrigin {
		t.Errorf("decode from the UI without a token = %d %v, want 401 the UI can read", a.code, a.header)
	}
}

func TestTrustedDevUIOriginNeedsNoTokenOnlyFromLoopback(t *testing.T) {
	h := newHarness(t, false)
	body := payloadsJSON(t, plainPayloads(t))
	tests := []struct {
		name, remote, origin string
		forwardedFor         string
		want                 int
	}{
		{"dev UI over IPv4 loopback", "127.0.0.1:51234", devUIOrigin, "", http.StatusOK},
		{"dev UI over IPv6 loopback", "[::1]:51234", devUIOrigin, "", http.StatusOK},
		{"dev UI's origin from another machine", "192.0.2.7:51234", devUIOrigin, "", http.StatusUnauthorized},
		{"another machine claiming loopback", "192.0.2.7:51234", devUIOrigin, "127.0.0.1", http.StatusUnauthorized},
		{"the production UI's origin over loopback", "127.0.0.1:51234", uiOrigin, "", http.StatusUnauthorized},
		{"another origin over loopback", "127.0.0.1:51234", "http://localhost:9999", "", http.StatusUnauthorized},
		{"no origin over loopback", "127.0.0.1:51234", "", "", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		headers := http.Header{}
		if tc.origin != "" {
			headers.Set("Origin", tc.origin)
		}
		if tc.forwardedFor != "" {
			headers.Set("X-Forwarded-For", tc.forwardedFor)
		}
		for _, path := range []string{"/codec/encode", "/codec/decode"} {
			if a := h.sendFrom(tc.remote, http.MethodPost, path, body, "", headers); a.code != tc.want {
				t.Errorf("%s: %s = %d %s, want %d", tc.name, path, a.code, a.body, tc.want)
			}
		}
	}
}

func TestCodecRefusesWhatItCannotRead(t *testing.T) {
	h := newHarness(t, false)
	analyst := h.token("carol", auth.RoleAnalyst)
	other, err := codec.New(newCodecRing(t)).Encode(plainPayloads(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, contentType, body string
		want                    int
	}{
		{"not JSON", "", "ada@example.com", http.StatusBadRequest},
		{"not payloads", "", `{"payloads":"ada@example.com"}`, http.StatusBadRequest},
		{"not sent as JSON", "text/plain", "{}", http.StatusUnsupportedMediaType},
		{"encrypted with a key dsr lacks", "", payloadsJSON(t, other), http.StatusBadRequest},
		{"over 4 MB", "", `{"payloads":[{"data":"` + strings.Repeat("A", 4<<20) + `"}]}`, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		a := h.do(http.MethodPost, "/codec/decode", tc.contentType, tc.body, analyst)
		if a.code != tc.want || strings.Contains(a.body, "ada@") {
			t.Errorf("%s: %d %s, want %d without the body quoted", tc.name, a.code, a.body, tc.want)
			continue
		}
		a.errorBody(t)
	}
}

func TestCodecTakesPayloadsLargerThanAnAPIBody(t *testing.T) {
	h := newHarness(t, false)
	analyst := h.token("carol", auth.RoleAnalyst)
	large, err := converter.GetDefaultDataConverter().ToPayload(strings.Repeat("x", 200<<10))
	if err != nil {
		t.Fatal(err)
	}
	a := h.do(http.MethodPost, "/codec/encode", "", payloadsJSON(t, []*commonpb.Payload{large}), analyst)
	if a.code != http.StatusOK {
		t.Errorf("encode of 200 KB = %d %s, want 200", a.code, a.body)
	}
}

func TestCodecAndCallbackRoutesAnswer404WhenNotConfigured(t *testing.T) {
	handler := api.New(api.Options{Log: quiet}).Handler()
	for _, path := range []string{"/codec/encode", "/codec/decode", "/api/v1/callbacks/" + uuid.NewString()} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}")))
		if rec.Code != http.StatusNotFound {
			t.Errorf("POST %s = %d %s, want 404", path, rec.Code, rec.Body)
		}
	}
}
