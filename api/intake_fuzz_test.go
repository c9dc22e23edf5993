package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requests"
)

// fieldPath is the grammar of the field names an error answer may use.
var fieldPath = regexp.MustCompile(`^[a-z_]+(\[[0-9]+\])?(\.[a-z_]+(\[[0-9]+\])?)*$`)

// FuzzIntakeDecoding feeds arbitrary bodies, as JSON and as a web form, to the intake's
// decoding and validation. Whatever comes in, it must not panic, must answer with a 4xx in
// dsr's own words (never echoing what was sent), and anything it accepts must be a valid,
// normalised, public intake. `go test` runs the seeds; `go test -fuzz FuzzIntakeDecoding
// ./api/` searches further.
func FuzzIntakeDecoding(f *testing.F) {
	for _, seed := range []string{
		`{"type":"review","email":"a@example.com"}`,
		`{"type":"correct","email":" Someone@Example.COM ","jurisdiction":"ccpa","details":{"changes":[{"field":"name","value":"Sam"}]}}`,
		`{"type":"suppress","email":"a@example.com","jurisdiction":"gdpr","details":{"scope":{"all":true}}}`,
		`{"type":"suppress","email":"a@example.com","details":{"scope":{"categories":["contact"]}}}`,
		`{"type":"restrict","email":"a@example.com","details":{"limits":["marketing_email","affiliate_sharing"]}}`,
		`{"type":"child_erasure","email":"kid@example.com","details":{"reason":"a parent asked"}}`,
		`{"type":"update","email":"jane.doe@@example.com","jurisdiction":"mars","details":{"changes":[{"field":"shoe_size","value":""}]}}`,
		`{"type":"restrict","email":"a@example.com","admin":true}`,
		`{"type":1,"email":["a"]}`,
		`{"type":"review","email":"a\u0000@example.com"}`,
		`{"type":"review","email":"ｆｏｏ@例え.jp"}`,
		`{"type":"review"}{"type":"review"}`,
		`{"type":`,
		`null`,
		`[]`,
		``,
		`type=restrict&email=a%40example.com&details=%7B%22limits%22%3A%5B%22marketing_email%22%5D%7D`,
		`type=review&email=a%40example.com&x=1`,
		`type=restrict&email=a%40example.com&details=%7Blimits`,
		`%zz`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	// A service without data maps knows the default categories only.
	s := &Server{svc: requests.New(requests.Options{})}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte, asForm bool) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/requests", strings.NewReader(string(body)))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		if asForm {
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		}
		in, err := s.readIntake(e.NewContext(req, httptest.NewRecorder()), false)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if in.Type.StaffOnly() {
			t.Errorf("public intake accepted a staff-only %s", in.Type)
		}
		if again, err := domain.NormalizeEmail(in.Email); err != nil || again != in.Email {
			t.Errorf("accepted address is not in normal form")
		}
		if _, err := domain.ParseJurisdiction(string(in.Jurisdiction)); err != nil {
			t.Errorf("accepted an unknown jurisdiction")
		}
		if err := domain.ValidateIntake(in.Type, in.Details, s.svc.Categories()); err != nil {
			t.Errorf("accepted details that fail validation: %v", err)
		}
		// What is stored decodes back, strictly, to the same details.
		raw, err := json.Marshal(in.Details)
		if err != nil {
			t.Fatal(err)
		}
		var back domain.Details
		if err := strictUnmarshal(raw, &back); err != nil || !reflect.DeepEqual(back, in.Details) {
			t.Errorf("stored details %s do not decode back: %v", raw, err)
		}
	})
}

// checkRefusal requires a 4xx apiError whose words are dsr's: no address, no control
// characters, and field names that are paths, not input.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	ae := asAPIError(err)
	if ae.status < 400 || ae.status >= 500 || ae.code == "" || ae.message == "" {
		t.Fatalf("refusal %v is not a 4xx answer", err)
	}
	texts := []string{ae.message}
	for name, msg := range ae.fields {
		if !fieldPath.MatchString(name) {
			t.Errorf("field name %q is not a path", name)
		}
		texts = append(texts, msg)
	}
	for _, text := range texts {
		if strings.ContainsAny(text, "@\x00\n\r") {
			t.Errorf("message %q may repeat the input", text)
		}
	}
}
