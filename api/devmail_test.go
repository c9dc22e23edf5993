package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/api"
	"github.com/dsr-project/dsr/internal/mail"
)

func TestDevMailRoutesExistOnlyInDevMode(t *testing.T) {
	h := newHarness(t, false)
	for _, path := range []string{"/api/v1/dev/mail?to=a@example.com", "/dev/mail"} {
		if a := h.do(http.MethodGet, path, "", "", ""); a.code != http.StatusNotFound {
			t.Errorf("%s outside dev mode = %d, want 404", path, a.code)
		}
	}
}

func TestDevMailListsAnAddressNewestFirst(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	for _, m := range []mail.Message{
		{To: "a@example.com", Subject: "first", Text: "1"},
		{To: "b@example.com", Subject: "other", Text: "x"},
		{To: "a@example.com", Subject: "second", Text: "2"},
	} {
		if err := h.mailbox.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	a := h.do(http.MethodGet, "/api/v1/dev/mail?to=A@example.com", "", "", "")
	var got []api.DevMail
	if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.code != http.StatusOK {
		t.Fatalf("dev mail = %d %s: %v", a.code, a.body, err)
	}
	if len(got) != 2 || got[0].To != "a@example.com" || got[0].SentAt.Before(got[1].SentAt) {
		t.Errorf("got %+v, want a@example.com's two messages, newest first", got)
	}
}

func TestDevMailNeedsAnAddress(t *testing.T) {
	h := newHarness(t, true)
	a := h.do(http.MethodGet, "/api/v1/dev/mail", "", "", "")
	if a.code != http.StatusUnprocessableEntity || a.errorBody(t).Fields["to"] == "" {
		t.Errorf("dev mail without to = %d %s, want 422 naming to", a.code, a.body)
	}
}

func TestDevMailPageEscapesWhatItShows(t *testing.T) {
	h := newHarness(t, true)
	err := h.mailbox.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "<script>alert(1)</script>", Text: "<b>code</b> 123456"})
	if err != nil {
		t.Fatal(err)
	}
	a := h.do(http.MethodGet, "/dev/mail?to=a@example.com", "", "", "")
	if a.code != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("page = %d %s", a.code, a.header.Get("Content-Type"))
	}
	if strings.Contains(a.body, "<script>") || strings.Contains(a.body, "<b>") {
		t.Errorf("page does not escape the mail:\n%s", a.body)
	}
	if !strings.Contains(a.body, "&lt;script&gt;") || !strings.Contains(a.body, "123456") || !strings.Contains(a.body, `value="a@example.com"`) {
		t.Errorf("page lacks the escaped mail or the address:\n%s", a.body)
	}
	if empty := h.do(http.MethodGet, "/dev/mail", "", "", ""); empty.code != http.StatusOK || !strings.Contains(empty.body, "<form") {
		t.Errorf("page without an address = %d, want the form", empty.code)
	}
}
