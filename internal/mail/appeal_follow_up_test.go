package mail_test

import (
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/mail"
)

func TestGrantedAppealMailPointsToTheRequestOpenedToCarryItOut(t *testing.T) {
	for lang, want := range map[string]string{
		"en": "We have opened a new request, req-2, to do so.",
		"nb": "Vi har opprettet en ny henvendelse, req-2, for å gjøre det.",
	} {
		msg, err := mail.Render(mail.Notice{Kind: mail.KindAppealDecision, To: "ada@example.com", RequestID: "req-1", Language: lang,
			Data: mail.AppealDecision{Granted: true, Reason: "We were wrong.", FollowUpRequestID: "req-2", FollowUpURL: "https://dsr.example/requests/req-2?k=key"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg.Text, want) || !strings.Contains(msg.Text, "https://dsr.example/requests/req-2?k=key") || !strings.Contains(msg.HTML, `href="https://dsr.example/requests/req-2?k=key"`) {
			t.Errorf("%s: the granted appeal's mail does not point to the new request:\n%s", lang, msg.Text)
		}
	}
}
