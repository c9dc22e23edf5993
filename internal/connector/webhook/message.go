package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// Request is the body dsr posts to a service.
type Request struct {
	RequestID string             `json:"request_id"`
	Operation domain.RequestType `json:"operation"`
	// Email is the address that proved control of its mailbox, lower-case and trimmed.
	Email   string         `json:"email"`
	Details domain.Details `json:"details"`
	// IdempotencyKey is the same on every attempt of one operation; a service that has
	// seen it answers with its first result and changes nothing.
	IdempotencyKey string `json:"idempotency_key"`
	// CallbackURL is where the service may post its result later, after answering 202.
	CallbackURL string `json:"callback_url,omitempty"`
	// PlanOf is, in a request whose Operation is PlanOperation, the operation to plan.
	PlanOf domain.RequestType `json:"plan_of,omitempty"`
}

// PlanOperation asks a service what PlanOf would change, changing nothing (PROTOCOL.md,
// section 6). It is answered at once, never by callback.
const PlanOperation domain.RequestType = "plan"

// Status says whether an answer carries the result or promises a callback.
type Status string

// Statuses of an answer.
const (
	StatusDone       Status = "done"
	StatusAccepted   Status = "accepted"
	StatusPlanned    Status = "planned"
	StatusCannotPlan Status = "cannot_plan"
)

// Answer is a service's result: the body of a 200 answer, or of a callback, which also
// carries RequestID and IdempotencyKey as they came in the request.
type Answer struct {
	RequestID      string                `json:"request_id,omitempty"`
	IdempotencyKey string                `json:"idempotency_key,omitempty"`
	Status         Status                `json:"status"`
	Found          []string              `json:"found,omitempty"`
	Changed        []string              `json:"changed,omitempty"`
	Retained       []connector.Retention `json:"retained,omitempty"`
	Notes          []string              `json:"notes,omitempty"`
	NotFound       bool                  `json:"not_found,omitempty"`
	Export         map[string]any        `json:"export,omitempty"`
	// DisclosedTo names the recipients the person's data went to, for those the data map
	// gives "disclosed_when: reported"; only they are told of the change.
	DisclosedTo []connector.Disclosure `json:"disclosed_to,omitempty"`
	// Tables is a plan's answer: what the planned operation would change, table by table.
	Tables []connector.TableChange `json:"tables,omitempty"`
}

// IdempotencyKey returns the key of one operation of a request in a store. dsr reads the
// store back from the key a callback echoes; services treat it as opaque.
func IdempotencyKey(requestID string, op domain.RequestType, store string) string {
	return requestID + ":" + string(op) + ":" + store
}

// parseIdempotencyKey splits a key made by IdempotencyKey. Request IDs and operations hold
// no colon; store names may.
func parseIdempotencyKey(key string) (requestID string, op domain.RequestType, store string, ok bool) {
	parts := strings.SplitN(key, ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return "", "", "", false
	}
	op, err := domain.ParseRequestType(parts[1])
	if err != nil {
		return "", "", "", false
	}
	return parts[0], op, parts[2], true
}

// decodeAnswer reads a result. Its errors wrap domain.ErrInvalid and quote nothing of the
// body, which holds personal data.
func decodeAnswer(body []byte) (Answer, error) {
	var a Answer
	if err := json.Unmarshal(body, &a); err != nil {
		return Answer{}, fmt.Errorf("%w: %w", jsonError(err), domain.ErrInvalid)
	}
	return a, nil
}

// result checks a finished answer and turns it into store's result. Every retained record
// needs a description and a legal reason, because both are shown to the requester.
func (a Answer) result(store string) (connector.Result, error) {
	if a.Status != StatusDone {
		return connector.Result{}, fmt.Errorf("answer status is not %q: %w", StatusDone, domain.ErrInvalid)
	}
	for i, r := range a.Retained {
		if strings.TrimSpace(r.What) == "" || strings.TrimSpace(r.Reason) == "" {
			return connector.Result{}, fmt.Errorf("retained entry %d lacks what or reason: %w", i+1, domain.ErrInvalid)
		}
	}
	for i, d := range a.DisclosedTo {
		if strings.TrimSpace(d.Recipient) == "" {
			return connector.Result{}, fmt.Errorf("disclosed_to entry %d lacks recipient: %w", i+1, domain.ErrInvalid)
		}
	}
	return connector.Result{Store: store, Found: a.Found, Changed: a.Changed, Retained: a.Retained,
		Notes: a.Notes, NotFound: a.NotFound, Export: a.Export, DisclosedTo: a.DisclosedTo}, nil
}

// plan checks a plan's answer and turns it into the store's plan.
func (a Answer) plan(store string) (connector.ChangePlan, error) {
	switch a.Status {
	case StatusCannotPlan:
		return connector.ChangePlan{Store: store, CannotPlan: cannotPlan}, nil
	case StatusPlanned:
	default:
		return connector.ChangePlan{}, fmt.Errorf("answer status is not %q: %w", StatusPlanned, domain.ErrInvalid)
	}
	for i, t := range a.Tables {
		if strings.TrimSpace(t.Table) == "" {
			return connector.ChangePlan{}, fmt.Errorf("table entry %d lacks table: %w", i+1, domain.ErrInvalid)
		}
		for _, c := range t.Columns {
			if !slices.Contains(columnActions, c.Action) || strings.TrimSpace(c.Column) == "" {
				return connector.ChangePlan{}, fmt.Errorf("table entry %d has a column without a name or a known action: %w", i+1, domain.ErrInvalid)
			}
		}
	}
	for i, r := range a.Retained {
		if strings.TrimSpace(r.What) == "" || strings.TrimSpace(r.Reason) == "" {
			return connector.ChangePlan{}, fmt.Errorf("retained entry %d lacks what or reason: %w", i+1, domain.ErrInvalid)
		}
	}
	return connector.ChangePlan{Store: store, NotFound: a.NotFound, Tables: a.Tables, Retained: a.Retained}, nil
}

var columnActions = []connector.ColumnAction{connector.ActionDelete, connector.ActionNull, connector.ActionMask, connector.ActionHash, connector.ActionSet}

// cannotPlan is what dsr records for a service that does not plan.
const cannotPlan = "the service does not plan changes"

// jsonError describes a decoding error by position and field only: encoding/json quotes
// the offending input in some of its messages.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("body field %q has the wrong type, want %s", typ.Field, typ.Type)
	case errors.Is(err, domain.ErrInvalid):
		return errors.New("operation is not a known request type")
	}
	return errors.New("body holds a value of the wrong form")
}
