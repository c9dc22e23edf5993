package mail_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/mail"
)

const hostile = `<script>alert("x")</script>`

var due = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// everyKind has one notice of each kind, with hostile text in every field a user or
// connector could influence.
var everyKind = map[mail.Kind]any{
	mail.KindVerificationCode: mail.VerificationCode{Code: hostile, ValidMinutes: 10},
	mail.KindAcknowledgement:  mail.Acknowledgement{RequestType: "review", DueDate: due, StatusURL: "javascript:alert(1)"},
	mail.KindReminder:         mail.Reminder{VerifyURL: "https://dsr.example.com/v?c=" + hostile, ExpiresAt: due},
	mail.KindExtension:        mail.Extension{NewDueDate: due, Reason: hostile},
	mail.KindDenial:           mail.Denial{Reason: hostile, AuthorityName: hostile, AuthorityURL: "https://ico.org.uk/"},
	mail.KindCompletion: mail.Completion{RequestType: "suppress", Found: []string{hostile}, Changed: []string{hostile},
		Retained:       []mail.Retained{{What: hostile, Reason: hostile, Until: due}},
		RecipientsTold: []string{hostile}, ReportURL: "https://dsr.example.com/r/1"},
	mail.KindRecipientNotice: mail.RecipientNotice{Change: hostile, SubjectRef: hostile, RespondBy: due},
}

func TestRenderEveryKindWithBothPartsAndEscapedHTML(t *testing.T) {
	for kind, data := range everyKind {
		m, err := mail.Render(mail.Notice{Kind: kind, To: to, RequestID: "req-42", Organization: "Example Corp", Data: data})
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		if m.To != to || m.Subject == "" || strings.Contains(m.Subject, to) || strings.ContainsAny(m.Subject, "<\n") {
			t.Errorf("%s: to %q, subject %q", kind, m.To, m.Subject)
		}
		if !strings.Contains(m.Text, "req-42") || !strings.Contains(m.Text, "Example Corp") || strings.Contains(m.Text, "\n\n\n") {
			t.Errorf("%s: text lacks request ID or sign-off, or has stray blank lines:\n%s", kind, m.Text)
		}
		if strings.Contains(m.HTML, "<script") || strings.Contains(m.HTML, "javascript:") {
			t.Errorf("%s: HTML carries hostile input unescaped:\n%s", kind, m.HTML)
		}
		urlOnly := kind == mail.KindAcknowledgement || kind == mail.KindReminder // hostile input only in links
		if !strings.Contains(m.HTML, "&lt;script&gt;") && !urlOnly {
			t.Errorf("%s: HTML lacks the escaped input:\n%s", kind, m.HTML)
		}
	}
}

func TestRenderDenialNamesTheRightToComplain(t *testing.T) {
	m, err := mail.Render(mail.Notice{Kind: mail.KindDenial, To: to, RequestID: "req-42",
		Data: mail.Denial{Reason: "We could not confirm your identity."}})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{m.Text, m.HTML} {
		if !strings.Contains(part, "supervisory authority") || !strings.Contains(part, "could not confirm") {
			t.Errorf("denial lacks reason or right to complain:\n%s", part)
		}
	}
}

// A record under a legal hold has no end date; the mail says it stays until the hold is lifted.
func TestRenderCompletionSaysAHoldLastsUntilItIsLifted(t *testing.T) {
	m, err := mail.Render(mail.Notice{Kind: mail.KindCompletion, To: to, RequestID: "req-42",
		Data: mail.Completion{RequestType: "suppress", Retained: []mail.Retained{
			{What: "order DEMO-30001", Reason: "chargeback dispute"},
			{What: "order DEMO-2", Reason: "tax law", Until: due},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{m.Text, m.HTML} {
		if !strings.Contains(part, "chargeback dispute, kept until the hold is lifted") || !strings.Contains(part, "tax law, kept until 14 March 2026") {
			t.Errorf("completion does not say how long each record is kept:\n%s", part)
		}
	}
}

func TestRenderRefusesMissingFactsAndWrongData(t *testing.T) {
	for name, n := range map[string]mail.Notice{
		"no code":       {Kind: mail.KindVerificationCode, Data: mail.VerificationCode{ValidMinutes: 10}},
		"no due date":   {Kind: mail.KindAcknowledgement, Data: mail.Acknowledgement{RequestType: "review"}},
		"no reason":     {Kind: mail.KindDenial, Data: mail.Denial{}},
		"wrong data":    {Kind: mail.KindDenial, Data: mail.Extension{Reason: "x", NewDueDate: due}},
		"nil data":      {Kind: mail.KindCompletion, Data: (*mail.Completion)(nil)},
		"unknown kind":  {Kind: "postcard", Data: mail.Denial{Reason: "x"}},
		"no request ID": {Kind: mail.KindDenial, Data: mail.Denial{Reason: "x"}, RequestID: "", To: to},
	} {
		if n.RequestID == "" && name != "no request ID" {
			n.RequestID, n.To = "req-42", to
		}
		if _, err := mail.Render(n); err == nil {
			t.Errorf("%s: rendered without error", name)
		}
	}
}

func TestNoticeSurvivesJSONRoundTrip(t *testing.T) {
	want := mail.Notice{Kind: mail.KindCompletion, To: to, RequestID: "req-42", Data: everyKind[mail.KindCompletion]}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got mail.Notice
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// A store that changes something need not say what it found (a restriction moves flags and
// reports only the limits), so "nothing found" is said only when nothing was found, changed
// or kept, and then only where the stores report what they hold.
func TestRenderCompletionSaysNothingFoundOnlyWhenNothingHappened(t *testing.T) {
	const nothing = "found no personal information"
	for name, c := range map[string]struct {
		data      mail.Completion
		want, not []string
	}{
		"restrict with changes": {
			data: mail.Completion{RequestType: "restrict", Changed: []string{"marketing_email", "affiliate_sharing"}},
			want: []string{"What we changed", "marketing_email"},
			not:  []string{nothing},
		},
		"correct that kept records": {
			data: mail.Completion{RequestType: "correct", Retained: []mail.Retained{{What: "orders", Reason: "tax law"}}},
			want: []string{"orders"},
			not:  []string{nothing},
		},
		"restrict already in place": {
			data: mail.Completion{RequestType: "restrict"},
			want: []string{"Nothing needed changing"},
			not:  []string{nothing},
		},
		"review that found nothing": {
			data: mail.Completion{RequestType: "review"},
			want: []string{"We found no personal information linked to this e-mail address."},
			not:  []string{"What we changed"},
		},
	} {
		m, err := mail.Render(mail.Notice{Kind: mail.KindCompletion, To: to, RequestID: "req-42", Data: c.data})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s: %s part lacks %q:\n%s", name, part, w, body)
				}
			}
			for _, n := range c.not {
				if strings.Contains(body, n) {
					t.Errorf("%s: %s part says %q:\n%s", name, part, n, body)
				}
			}
		}
	}
}
