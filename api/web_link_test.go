package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func statusCookieOf(header http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: header}).Cookies() {
		if c.Name == "dsr_status" {
			return c
		}
	}
	return nil
}

func TestMailedLinkKeyOpensTheStatusPageInAnyBrowser(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	key := testSecret.StatusLinkKey(req.ID)
	a := h.do(http.MethodGet, "/requests/"+req.ID+"?k="+key, "", "", "")
	if a.code != http.StatusSeeOther || a.header.Get("Location") != "/requests/"+req.ID {
		t.Fatalf("mailed link = %d to %q, want 303 to the address without the key", a.code, a.header.Get("Location"))
	}
	cookie := statusCookieOf(a.header)
	if cookie == nil || !cookie.HttpOnly || cookie.Path != "/requests/"+req.ID || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("status cookie = %+v, want HttpOnly, Lax, scoped to the request", cookie)
	}
	withCookie := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}
	if s := h.send(http.MethodGet, "/requests/"+req.ID, "", "", withCookie); s.code != http.StatusOK || strings.Contains(s.body, key) {
		t.Errorf("status page with the link's cookie = %d, want 200 without the key in the page", s.code)
	}
}

func TestLinkKeyOfOneRequestOpensNoOther(t *testing.T) {
	h := newHarness(t, false)
	first, second := h.open(), h.open()
	key := testSecret.StatusLinkKey(first.ID)
	if a := h.do(http.MethodGet, "/requests/"+second.ID+"?k="+key, "", "", ""); a.code != http.StatusUnauthorized || statusCookieOf(a.header) != nil {
		t.Errorf("another request's key in the link = %d, want 401 and no cookie", a.code)
	}
	forged := http.Header{"Cookie": {"dsr_status=" + key}}
	if a := h.send(http.MethodGet, "/requests/"+second.ID, "", "", forged); a.code != http.StatusUnauthorized {
		t.Errorf("another request's key in the cookie = %d, want 401", a.code)
	}
	if a := h.do(http.MethodGet, "/requests/"+first.ID+"?k=wrong", "", "", ""); a.code != http.StatusUnauthorized {
		t.Errorf("a wrong key = %d, want 401", a.code)
	}
}

func TestLinkKeyIsNoBearerTokenForTheAPI(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	if a := h.do(http.MethodGet, "/api/v1/requests/"+req.ID, "", "", testSecret.StatusLinkKey(req.ID)); a.code != http.StatusUnauthorized {
		t.Errorf("API status with the link key = %d, want 401", a.code)
	}
}

func TestMailedLinkKeepsItsLanguageThroughTheRedirect(t *testing.T) {
	h := newHarness(t, false)
	req := h.open()
	key := testSecret.StatusLinkKey(req.ID)
	a := h.do(http.MethodGet, "/requests/"+req.ID+"?lang=nb&k="+key, "", "", "")
	if a.code != http.StatusSeeOther || a.header.Get("Location") != "/requests/"+req.ID+"?lang=nb" {
		t.Errorf("mailed link with ?lang=nb = %d to %q, want 303 to the address with only the language", a.code, a.header.Get("Location"))
	}
}
