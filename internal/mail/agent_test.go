package mail_test

import (
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/mail"
)

func TestCodeMailOfAnAgentRequestNamesTheAgentAndAsksThePersonToConfirm(t *testing.T) {
	for lang, want := range map[string]string{
		"en": "Did you ask Rights Helper Ltd to make a privacy request for you?",
		"nb": "Har du bedt Rights Helper Ltd om å sende en personvernhenvendelse for deg?",
	} {
		msg, err := mail.Render(mail.Notice{
			Kind: mail.KindVerificationCode, To: "ada@example.com", RequestID: "req-1", Language: lang,
			Data: mail.VerificationCode{Code: "123456", ValidMinutes: 30, AgentName: "Rights Helper Ltd"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if msg.Subject != want {
			t.Errorf("%s subject = %q, want %q", lang, msg.Subject, want)
		}
		if strings.Count(msg.Text, "Rights Helper Ltd") < 3 || !strings.Contains(msg.Text, "123456") {
			t.Errorf("%s text does not name the agent beside the code:\n%s", lang, msg.Text)
		}
	}
}

func TestAgentOutcomeMailSaysHowTheRequestEndedAndNothingMore(t *testing.T) {
	for outcome, word := range map[string]string{"completed": "finished", "denied": "could not act", "expired": "did not confirm", "cancelled": "without carrying it out"} {
		for _, lang := range []string{"en", "nb"} {
			msg, err := mail.Render(mail.Notice{Kind: mail.KindAgentOutcome, To: "agent@example.org", RequestID: "req-1", Language: lang, Data: mail.AgentOutcome{Outcome: outcome}})
			if err != nil {
				t.Fatal(err)
			}
			if lang == "en" && !strings.Contains(msg.Text, word) || strings.Contains(msg.Text, "http") || !strings.Contains(msg.Text, "req-1") {
				t.Errorf("%s in %s: text %q should say %q and carry no link", outcome, lang, msg.Text, word)
			}
		}
	}
}
