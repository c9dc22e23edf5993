package mail_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/mail/smtptest"
)

func newTemplates(t *testing.T, brand mail.Brand, dir string) *mail.Templates {
	t.Helper()
	tm, err := mail.NewTemplates(i18n.Default(), brand, dir)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestANoticeInNorwegianArrivesInNorwegianOverSMTP(t *testing.T) {
	srv := smtptest.Start(t)
	msg, err := newTemplates(t, mail.Brand{Organization: "Eksempel AS"}, "").Render(mail.Notice{
		Kind: mail.KindAcknowledgement, To: to, RequestID: "req-42", Language: "nb",
		Data: mail.Acknowledgement{RequestType: "review", DueDate: due, StatusURL: "https://dsr.example.com/s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := newSender(t, srv, nil).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, to, 5*time.Second)
	if want := "Vi har mottatt personvernhenvendelsen din req-42"; got.Subject != want {
		t.Errorf("subject = %q, want %q", got.Subject, want)
	}
	for _, part := range []string{got.Text, got.HTML} {
		for _, want := range []string{"få innsyn i personopplysningene vi har om deg", "14. mars 2026", "Med vennlig hilsen", "Personvernteamet i Eksempel AS"} {
			if !strings.Contains(part, want) {
				t.Errorf("mail lacks %q:\n%s", want, part)
			}
		}
	}
	if !strings.Contains(got.HTML, `<html lang="nb">`) {
		t.Errorf("HTML part is not marked Norwegian:\n%s", got.HTML)
	}
}

func TestRecipientNoticesStayInEnglish(t *testing.T) {
	m, err := mail.Render(mail.Notice{Kind: mail.KindRecipientNotice, To: to, RequestID: "req-42", Language: "nb",
		Data: mail.RecipientNotice{Change: "Delete.", SubjectRef: "C-1", RespondBy: due}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Kind regards") || !strings.Contains(m.Text, "14 March 2026") {
		t.Errorf("recipient notice is not in English:\n%s", m.Text)
	}
}

func TestTheBrandSignsOnceWithTheOrganisationsNameLinksAndColours(t *testing.T) {
	brand := mail.Brand{Organization: "Example Corp", PrivacyPolicyURL: "https://example.com/privacy",
		LogoURL: "https://dsr.example.com/brand/logo", AccentColor: "#aa3300"}
	m, err := newTemplates(t, brand, "").Render(mail.Notice{Kind: mail.KindVerificationCode, To: to, RequestID: "req-42",
		Data: mail.VerificationCode{Code: "123456", ValidMinutes: 10, VerifyURL: "https://dsr.example.com/requests/req-42/verify?k=x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Kind regards,\nThe Example Corp privacy team\n") || strings.Count(m.Text, "privacy team") != 1 {
		t.Errorf("text is not signed once by the organisation:\n%s", m.Text)
	}
	if !strings.Contains(m.Text, "Our privacy policy: https://example.com/privacy") || !strings.Contains(m.Text, "https://dsr.example.com/requests/req-42/verify?k=x") {
		t.Errorf("text lacks the policy or the page that takes the code:\n%s", m.Text)
	}
	for _, want := range []string{`href="https://example.com/privacy"`, `src="https://dsr.example.com/brand/logo"`, `#aa3300`, `href="https://dsr.example.com/requests/req-42/verify?k=x"`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, m.HTML)
		}
	}
}

func TestWithoutAnOrganisationThePrivacyTeamSigns(t *testing.T) {
	m, err := mail.Render(mail.Notice{Kind: mail.KindExtension, To: to, RequestID: "req-42",
		Data: mail.Extension{NewDueDate: due, Reason: "busy"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Kind regards,\nThe privacy team\n") {
		t.Errorf("sign-off:\n%s", m.Text)
	}
}

func TestAnAccentColourThatIsNotHexIsRefused(t *testing.T) {
	if _, err := mail.NewTemplates(i18n.Default(), mail.Brand{AccentColor: "red;background:url(x)"}, ""); err == nil {
		t.Error("a colour that is not #rrggbb was taken")
	}
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAnOverrideReplacesANoticeInAllLanguagesOrInOne(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "extension.tmpl", `{{define "subject"}}Extension {{.RequestID}}{{end}}
{{define "text"}}Our own words: new date {{$.Date .Data.NewDueDate}}.{{template "signoff" .}}{{end}}
{{define "html"}}<p>Our own words</p>{{end}}`)
	writeFile(t, dir, "extension.nb.tmpl", `{{define "subject"}}Forlengelse {{.RequestID}}{{end}}
{{define "text"}}Våre egne ord: ny frist {{$.Date .Data.NewDueDate}}.{{template "signoff" .}}{{end}}
{{define "html"}}<p>Våre egne ord</p>{{end}}`)
	tm := newTemplates(t, mail.Brand{}, dir)
	for lang, want := range map[string]string{"en": "Our own words: new date 14 March 2026.", "nb": "Våre egne ord: ny frist 14. mars 2026."} {
		m, err := tm.Render(mail.Notice{Kind: mail.KindExtension, To: to, RequestID: "req-42", Language: lang,
			Data: mail.Extension{NewDueDate: due, Reason: "busy"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.Text, want) {
			t.Errorf("%s: text = %q, want it to start %q", lang, m.Text, want)
		}
	}
	m, err := tm.Render(mail.Notice{Kind: mail.KindDenial, To: to, RequestID: "req-42", Data: mail.Denial{Reason: "no"}})
	if err != nil || !strings.Contains(m.Text, "supervisory authority") {
		t.Errorf("a notice without an override lost its built-in text: %v\n%s", err, m.Text)
	}
}

func TestABrokenOverrideIsRefusedNamingItsFile(t *testing.T) {
	for name, body := range map[string]string{
		"completion.tmpl":      `{{define "subject"}}x{{end}}{{define "text"}}{{if}}{{end}}{{define "html"}}x{{end}}`,
		"denial.nb.tmpl":       `{{define "subject"}}x{{end}}{{define "text"}}{{.Data.NoSuchField}}{{end}}{{define "html"}}x{{end}}`,
		"reminder.tmpl":        `{{define "subject"}}{{$.T "no_such_message"}}{{end}}{{define "text"}}x{{end}}{{define "html"}}x{{end}}`,
		"acknowledgement.tmpl": `{{define "subject"}}only a subject{{end}}`,
		"farewell.tmpl":        `{{define "subject"}}x{{end}}`,
		"extension.de.tmpl":    `{{define "subject"}}x{{end}}{{define "text"}}x{{end}}{{define "html"}}x{{end}}`,
	} {
		dir := t.TempDir()
		writeFile(t, dir, name, body)
		_, err := mail.NewTemplates(i18n.Default(), mail.Brand{}, dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, name)) {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
}

func TestANoticeKeepsItsLanguageThroughJSON(t *testing.T) {
	in := mail.Notice{Kind: mail.KindReminder, To: to, RequestID: "req-42", Language: "nb", Data: mail.Reminder{ExpiresAt: due}}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out mail.Notice
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.Language != "nb" || out.Data != in.Data {
		t.Errorf("after JSON: %+v, want %+v", out, in)
	}
}

// Each milestone's mail gives the requester their receipt: the link, and a sentence on what
// it proves and how to check it, in the request's language and in both parts.
func TestAMilestoneMailCarriesItsReceiptLinkInEitherLanguage(t *testing.T) {
	const link = "https://dsr.example.com/api/v1/requests/req-42/receipt?milestone=completed&signature=s"
	kinds := map[mail.Kind]any{
		mail.KindVerificationCode: mail.VerificationCode{Code: "123456", ValidMinutes: 30},
		mail.KindAcknowledgement:  mail.Acknowledgement{RequestType: "review", DueDate: due},
		mail.KindExtension:        mail.Extension{NewDueDate: due, Reason: "Many systems."},
		mail.KindDenial:           mail.Denial{Reason: "We could not confirm who you are."},
		mail.KindCompletion:       mail.Completion{RequestType: "suppress"},
	}
	words := map[string][]string{
		"en": {"Your receipt for this step", "dsr receipt verify", "which we cannot change without it showing"},
		"nb": {"Kvitteringen din for dette trinnet", "dsr receipt verify", "som vi ikke kan endre uten at det synes"},
	}
	for kind, data := range kinds {
		for lang, want := range words {
			n := mail.Notice{Kind: kind, To: to, RequestID: "req-42", Language: lang, Data: data, ReceiptURL: link}
			raw, err := json.Marshal(n)
			if err != nil {
				t.Fatal(err)
			}
			var decoded mail.Notice
			if err := json.Unmarshal(raw, &decoded); err != nil {
				t.Fatal(err)
			}
			m, err := mail.Render(decoded)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range want {
				if !strings.Contains(m.Text, w) || !strings.Contains(m.HTML, w) {
					t.Errorf("%s mail in %s lacks %q", kind, lang, w)
				}
			}
			if !strings.Contains(m.Text, "\n"+link+"\n") || !strings.Contains(m.HTML, `href="`+strings.ReplaceAll(link, "&", "&amp;")+`"`) {
				t.Errorf("%s mail in %s lacks the receipt link:\n%s", kind, lang, m.Text)
			}
			n.ReceiptURL = ""
			if m, err = mail.Render(n); err != nil || strings.Contains(m.Text, want[0]) || strings.Contains(m.HTML, want[0]) {
				t.Errorf("%s mail without a receipt speaks of one (%v)", kind, err)
			}
		}
	}
}
