package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsr-project/dsr/api"
)

const restrictBody = `{"type":"restrict","email":"someone@example.com","details":{"limits":["marketing_email"]}}`

func withKey(key string) http.Header {
	return http.Header{"Idempotency-Key": {key}}
}

func intakeAnswer(t *testing.T, a answer) api.IntakeAnswer {
	t.Helper()
	if a.code != http.StatusAccepted {
		t.Fatalf("intake = %d %s, want 202", a.code, a.body)
	}
	var out api.IntakeAnswer
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSameIdempotencyKeyAndBodyGetTheSameAnswerAndStartNothingNew(t *testing.T) {
	h := newHarness(t, false)
	first := h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", withKey("k-1"))
	// The same request spelled differently is the same request.
	again := h.send(http.MethodPost, "/api/v1/requests",
		`{ "details":{"limits":["marketing_email"]}, "email":" SomeOne@example.com", "type":"restrict"}`, "", withKey("k-1"))
	a, b := intakeAnswer(t, first), intakeAnswer(t, again)
	if !reflect.DeepEqual(a, b) || a.StatusToken == "" {
		t.Errorf("answers differ:\n %+v\n %+v", a, b)
	}
	if first.header.Get("Idempotent-Replayed") != "" || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed = %q then %q, want only the retry marked", first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}
	if len(h.engine.started) != 1 {
		t.Errorf("started %d workflows, want 1", len(h.engine.started))
	}
	// The replayed token is the request's token.
	if r := h.do(http.MethodGet, "/api/v1/requests/"+b.ID+"/report", "", "", b.StatusToken); r.code != http.StatusConflict {
		t.Errorf("report with the replayed token = %d %s, want 409 (authorised, not completed)", r.code, r.body)
	}
	var keys []map[string]any
	if err := h.db.Table("idempotency_keys").Find(&keys).Error; err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0]["key_hash"] == "k-1" || containsAny(keys[0], "someone", b.StatusToken) {
		t.Errorf("stored keys = %v, want one row of hashes without the token or the address", keys)
	}
}

func containsAny(row map[string]any, needles ...string) bool {
	raw, _ := json.Marshal(row)
	for _, n := range needles {
		if n != "" && strings.Contains(string(raw), n) {
			return true
		}
	}
	return false
}

func TestSameIdempotencyKeyWithAnotherBodyIsRefused(t *testing.T) {
	h := newHarness(t, false)
	intakeAnswer(t, h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", withKey("k-1")))
	for name, headers := range map[string]http.Header{
		"another body":   withKey("k-1"),
		"same body, GPC": {"Idempotency-Key": {"k-1"}, "Sec-Gpc": {"1"}},
	} {
		body := `{"type":"restrict","email":"other@example.com","details":{"limits":["marketing_email"]}}`
		if name == "same body, GPC" {
			body = restrictBody
		}
		a := h.send(http.MethodPost, "/api/v1/requests", body, "", headers)
		if a.code != http.StatusUnprocessableEntity || a.errorBody(t).Code != "idempotency_key_reused" {
			t.Errorf("%s: %d %s, want 422 idempotency_key_reused", name, a.code, a.body)
		}
	}
	if len(h.engine.started) != 1 {
		t.Errorf("started %d workflows, want 1", len(h.engine.started))
	}
}

func TestMalformedIdempotencyKeyIsRefused(t *testing.T) {
	h := newHarness(t, false)
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'k'
	}
	for name, key := range map[string][]string{"empty": {""}, "space": {"a b"}, "too long": {string(long)}, "two": {"a", "b"}} {
		a := h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", http.Header{"Idempotency-Key": key})
		if a.code != http.StatusBadRequest || a.errorBody(t).Fields["Idempotency-Key"] == "" {
			t.Errorf("%s key: %d %s, want 400 naming the header", name, a.code, a.body)
		}
	}
	if len(h.engine.started) != 0 {
		t.Error("a refused key started a workflow")
	}
}

func TestConcurrentRetriesOfOneKeyOpenOneRequest(t *testing.T) {
	h := newHarness(t, false)
	const n = 6
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i] = h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", withKey("k-1")) })
	}
	wg.Wait()
	var id string
	for _, a := range answers {
		switch a.code {
		case http.StatusAccepted:
			got := intakeAnswer(t, a)
			if id != "" && got.ID != id {
				t.Errorf("two requests opened: %s and %s", id, got.ID)
			}
			id = got.ID
		case http.StatusConflict:
			if a.errorBody(t).Code != "idempotency_key_in_progress" || a.header.Get("Retry-After") == "" {
				t.Errorf("concurrent retry = %s, want idempotency_key_in_progress with Retry-After", a.body)
			}
		default:
			t.Errorf("concurrent retry = %d %s", a.code, a.body)
		}
	}
	if len(h.engine.started) != 1 {
		t.Errorf("started %d workflows, want 1", len(h.engine.started))
	}
}

func TestFailedIntakeFreesItsIdempotencyKey(t *testing.T) {
	h := newHarness(t, false)
	h.engine.startErr = errors.New("engine down")
	if a := h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", withKey("k-1")); a.code != http.StatusServiceUnavailable {
		t.Fatalf("intake with the engine down = %d %s, want 503", a.code, a.body)
	}
	h.engine.startErr = nil
	retry := intakeAnswer(t, h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", withKey("k-1")))
	if len(h.engine.started) != 1 || h.engine.inputs[0].RequestID != retry.ID {
		t.Errorf("retry opened %s, engine started %d", retry.ID, len(h.engine.started))
	}
}

// An intake that stalls after storing its request, as a crashed process would, is taken over
// by a retry once it is stale; the retry resumes the same request instead of opening a second.
func TestStalledIntakeIsResumedByARetry(t *testing.T) {
	h := newHarness(t, false)
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	h.engine.startGate, h.engine.startEntered = gate, entered
	firstDone := make(chan answer)
	go func() { firstDone <- h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", withKey("k-1")) }()
	<-entered
	if a := h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", withKey("k-1")); a.code != http.StatusConflict {
		t.Errorf("retry while the first runs = %d %s, want 409", a.code, a.body)
	}
	h.now = h.now.Add(3 * time.Minute)
	retry := intakeAnswer(t, h.send(http.MethodPost, "/api/v1/requests", restrictBody, "", withKey("k-1")))
	close(gate)
	first := intakeAnswer(t, <-firstDone)
	if !reflect.DeepEqual(first, retry) {
		t.Errorf("the stalled intake and its retry answered differently:\n %+v\n %+v", first, retry)
	}
	var n int64
	if err := h.db.Table("requests").Count(&n).Error; err != nil || n != 1 || len(h.engine.started) != 1 {
		t.Errorf("%d request rows and %d workflows, want 1 of each", n, len(h.engine.started))
	}
}
