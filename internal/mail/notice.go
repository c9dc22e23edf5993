package mail

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
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
	KindAppealDecision   Kind = "appeal_decision"   // AppealDecision
	KindAgentOutcome     Kind = "agent_outcome"     // AgentOutcome
)

// Notice is one e-mail about a request, before rendering. It survives a JSON round trip
// (as a Temporal activity input does): Data is decoded into the type its Kind names.
type Notice struct {
	Kind         Kind
	To           string
	RequestID    string
	Organization string // signs the message, e.g. "Example Corp"; empty means the Brand's
	// Language is the request's language, such as nb; empty means English. Notices to
	// recipients are always in English.
	Language string
	Data     any // a value of the kind's data type, e.g. Denial for KindDenial
	// ReceiptURL links to the transparency log's receipt of the milestone the notice is
	// about; every kind shows it, with a sentence on what it proves. Optional.
	ReceiptURL string
}

// VerificationCode asks the requester to prove control of the mailbox.
type VerificationCode struct {
	Code         string
	ValidMinutes int
	VerifyURL    string // the page that takes the code; optional
	// AgentName names the authorized agent who asked on the person's behalf; the person's
	// code is then their confirmation that they gave the agent permission.
	AgentName string `json:",omitempty"`
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
	AgentName string `json:",omitempty"` // as in VerificationCode
}

// Extension tells the requester that the deadline moved, and why (GDPR Art. 12(3)).
type Extension struct {
	NewDueDate time.Time
	Reason     string
	// Appeal says the due date moved is an appeal's, not the request's.
	Appeal bool `json:",omitempty"`
}

// Denial says why no action is taken and names the right to complain (GDPR Art. 12(4)).
type Denial struct {
	Reason        string
	AuthorityName string // optional: the supervisory authority to name
	AuthorityURL  string
	// AppealURL, when set, is where the person may appeal the refusal until AppealUntil.
	AppealURL   string    `json:",omitempty"`
	AppealUntil time.Time `json:",omitzero"`
}

// Completion reports the outcome of a request.
type Completion struct {
	RequestType    string
	Found          []string // what was found, one line per system or category
	Changed        []string
	Retained       []Retained
	RecipientsTold []string // organisations told of the change (GDPR Art. 19)
	ReportURL      string   // optional: where to download the full report
	// AppealURL, when set, is where the person may appeal what was kept until AppealUntil.
	AppealURL   string    `json:",omitempty"`
	AppealUntil time.Time `json:",omitzero"`
}

// AppealDecision tells the person how their appeal of a refusal was decided, and why. A
// denied appeal names the regulator they may complain to.
type AppealDecision struct {
	Granted       bool
	Reason        string
	RegulatorName string
	RegulatorURL  string
	StatusURL     string
}

// Retained is data kept despite the request, with its legal ground and end date.
type Retained struct {
	What   string
	Reason string
	Until  time.Time
}

// AgentOutcome tells an authorized agent how the request they made ended. It goes to the
// agent, not the person, and so carries none of the person's data: no reason, no links.
type AgentOutcome struct {
	// Outcome is the request's terminal status: completed, denied, expired or cancelled.
	Outcome string
}

// RecipientNotice asks an affiliate or service provider to apply a change. It carries only
// the reference the recipient needs to find the record, not the requester's other data.
type RecipientNotice struct {
	Change     string // e.g. "Delete all personal data about this person."
	SubjectRef string // e.g. the recipient's own customer ID for the person
	RespondBy  time.Time
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
		Kind                                              Kind
		To, RequestID, Organization, Language, ReceiptURL string
		Data                                              json.RawMessage
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("decode notice: %w", err)
	}
	spec, ok := kindSpecs[raw.Kind]
	if !ok {
		return fmt.Errorf("decode notice: unknown kind %q", raw.Kind)
	}
	data, err := spec.decode(raw.Data)
	if err != nil {
		return fmt.Errorf("decode %s notice: %w", raw.Kind, err)
	}
	*n = Notice{Kind: raw.Kind, To: raw.To, RequestID: raw.RequestID, Organization: raw.Organization, Language: raw.Language,
		Data: data, ReceiptURL: raw.ReceiptURL}
	return nil
}
