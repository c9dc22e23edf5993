package mail

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

// Kind names a notice; each kind has its own data type and template file.
type Kind string

// Notice kinds and the data type each one carries in Notice.Data.
const (
	KindVerificationCode Kind = "verification_code" // VerificationCode
	KindAcknowledgement  Kind = "acknowledgement"   // Acknowledgement
	KindReminder         Kind = "reminder"          // Reminder
	KindExtension        Kind = "extension"         // Extension
	KindDenial           Kind = "denial"            // Denial
	KindCompletion       Kind = "completion"        // Completion
	KindRecipientNotice  Kind = "recipient_notice"  // RecipientNotice
)

// Notice is one e-mail about a request, before rendering. It survives a JSON round trip
// (as a Temporal activity input does): Data is decoded into the type its Kind names.
type Notice struct {
	Kind         Kind
	To           string
	RequestID    string
	Organization string // signs the message, e.g. "Example Corp"; optional
	Data         any    // a value of the kind's data type, e.g. Denial for KindDenial
}

// VerificationCode asks the requester to prove control of the mailbox.
type VerificationCode struct {
	Code         string
	ValidMinutes int
}

// Acknowledgement confirms receipt and says when the answer is due.
type Acknowledgement struct {
	RequestType string // a domain request type, e.g. "review"
	DueDate     time.Time
	StatusURL   string
}

// Reminder says that the mailbox has not been verified yet.
type Reminder struct {
	VerifyURL string
	ExpiresAt time.Time
}

// Extension tells the requester that the deadline moved, and why (GDPR Art. 12(3)).
type Extension struct {
	NewDueDate time.Time
	Reason     string
}

// Denial says why no action is taken and names the right to complain (GDPR Art. 12(4)).
type Denial struct {
	Reason        string
	AuthorityName string // optional: the supervisory authority to name
	AuthorityURL  string
}

// Completion reports the outcome of a request.
type Completion struct {
	RequestType    string
	Found          []string // what was found, one line per system or category
	Changed        []string
	Retained       []Retained
	RecipientsTold []string // organisations told of the change (GDPR Art. 19)
	ReportURL      string   // optional: where to download the full report
}

// Retained is data kept despite the request, with its legal ground and end date.
type Retained struct {
	What   string
	Reason string
	Until  time.Time
}

// RecipientNotice asks an affiliate or service provider to apply a change. It carries only
// the reference the recipient needs to find the record, not the requester's other data.
type RecipientNotice struct {
	Change     string // e.g. "Delete all personal data about this person."
	SubjectRef string // e.g. the recipient's own customer ID for the person
	RespondBy  time.Time
}

type kindSpec struct {
	text   *texttemplate.Template
	html   *htmltemplate.Template
	fits   func(any) bool
	decode func(json.RawMessage) (any, error)
	want   string
}

func specFor[T any](k Kind) kindSpec {
	files := []string{"templates/layout.tmpl", "templates/" + string(k) + ".tmpl"}
	return kindSpec{
		text:   texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(templateFS, files...)),
		html:   htmltemplate.Must(htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, files...)),
		fits:   func(v any) bool { _, ok := v.(T); return ok },
		decode: func(b json.RawMessage) (any, error) { var v T; err := json.Unmarshal(b, &v); return v, err },
		want:   reflect.TypeFor[T]().String(),
	}
}

//go:embed templates/*.tmpl
var templateFS embed.FS

var funcs = map[string]any{
	"date":   func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"action": action,
	// changesOnly names the types whose stores report what they changed but not what they
	// hold: for them an empty outcome may mean the data was already as asked, not absent.
	"changesOnly": func(requestType string) bool { return domain.RequestType(requestType).ChangesOnly() },
	// need fails the render instead of sending a message with a blank where a fact belongs.
	"need": func(name string, v any) (any, error) {
		if v == nil || reflect.ValueOf(v).IsZero() {
			return nil, fmt.Errorf("%s is required", name)
		}
		return v, nil
	},
}

var kinds = map[Kind]kindSpec{
	KindVerificationCode: specFor[VerificationCode](KindVerificationCode),
	KindAcknowledgement:  specFor[Acknowledgement](KindAcknowledgement),
	KindReminder:         specFor[Reminder](KindReminder),
	KindExtension:        specFor[Extension](KindExtension),
	KindDenial:           specFor[Denial](KindDenial),
	KindCompletion:       specFor[Completion](KindCompletion),
	KindRecipientNotice:  specFor[RecipientNotice](KindRecipientNotice),
}

func action(requestType string) string {
	switch requestType {
	case "review":
		return "see the personal information we hold about you"
	case "correct", "update":
		return requestType + " personal information we hold about you"
	case "suppress":
		return "delete (suppress) the personal information we hold about you"
	case "restrict":
		return "limit how we use your personal information"
	case "child_erasure":
		return "delete personal information about a child"
	}
	return "exercise your privacy rights"
}

// Render fills in the templates of n's kind: subject and text with text/template, the HTML
// part with html/template, which escapes everything the data brings in.
func Render(n Notice) (Message, error) {
	spec, ok := kinds[n.Kind]
	if !ok {
		return Message{}, fmt.Errorf("render notice: unknown kind %q", n.Kind)
	}
	switch {
	case !spec.fits(n.Data):
		return Message{}, fmt.Errorf("render %s notice: data is %T, want %s", n.Kind, n.Data, spec.want)
	case n.To == "" || n.RequestID == "":
		return Message{}, fmt.Errorf("render %s notice: recipient and request ID are required", n.Kind)
	}
	view := struct {
		RequestID, Organization string
		Data                    any
	}{n.RequestID, n.Organization, n.Data}
	var subject, text, html bytes.Buffer
	err := spec.text.ExecuteTemplate(&subject, "subject", view)
	if err == nil {
		err = spec.text.ExecuteTemplate(&text, "text", view)
	}
	if err == nil {
		err = spec.html.ExecuteTemplate(&html, "page", view)
	}
	if err != nil {
		return Message{}, fmt.Errorf("render %s notice: %w", n.Kind, err)
	}
	return Message{
		To:      n.To,
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    tidy(text.String()),
		HTML:    html.String(),
	}, nil
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidy lets templates use readable layout: trailing spaces go, runs of blank lines become one.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")) + "\n"
}

// UnmarshalJSON decodes Data into the type that Kind names.
func (n *Notice) UnmarshalJSON(b []byte) error {
	var raw struct {
		Kind                        Kind
		To, RequestID, Organization string
		Data                        json.RawMessage
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("decode notice: %w", err)
	}
	spec, ok := kinds[raw.Kind]
	if !ok {
		return fmt.Errorf("decode notice: unknown kind %q", raw.Kind)
	}
	data, err := spec.decode(raw.Data)
	if err != nil {
		return fmt.Errorf("decode %s notice: %w", raw.Kind, err)
	}
	*n = Notice{Kind: raw.Kind, To: raw.To, RequestID: raw.RequestID, Organization: raw.Organization, Data: data}
	return nil
}
