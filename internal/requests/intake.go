package requests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// IntakeForm is a request as someone submits it, before validation. A web form sends the
// same names, with details as a JSON string.
type IntakeForm struct {
	Type         string         `json:"type"`
	Email        string         `json:"email"`
	Jurisdiction string         `json:"jurisdiction,omitempty"`
	Details      domain.Details `json:"details"`
	// Language is the requester's language for their pages and mail, such as nb; empty
	// means English.
	Language string `json:"language,omitempty"`
	// Agent is set when an authorized agent makes the request for the person whose
	// address Email is.
	Agent *AgentForm `json:"agent,omitempty"`
}

// Opened is what intake answers. StatusToken is the requester's only key to the request
// and is shown once; staff-opened requests have none.
type Opened struct {
	ID          string        `json:"id"`
	Status      domain.Status `json:"status"`
	StatusToken string        `json:"status_token,omitempty"`
	DueDate     time.Time     `json:"due_date"`
	// OptOutsRecorded lists the opt-outs recorded from the browser's Global Privacy Control
	// signal: affiliate_sharing when it sent Sec-GPC: 1.
	OptOutsRecorded []domain.RestrictLimit `json:"opt_outs_recorded,omitempty"`
}

// Intake is a validated IntakeForm.
type Intake struct {
	Type  domain.RequestType
	Email string // normalised: what records are matched and requests keyed on
	// MailboxEmail is the address as typed, where mail goes. It is left out of the
	// idempotency hash, so a retry that spells the address otherwise is the same body.
	MailboxEmail string `json:"-"`
	Jurisdiction domain.Jurisdiction
	Details      domain.Details
	// Language is a language of the catalogue, such as nb. Like MailboxEmail it is left out
	// of the idempotency hash: a retry from a browser set to another language is the same
	// request.
	Language string `json:"-"`
	// Agent and Permission are the authorized agent who asked for the person and the
	// permission the person signed; Open moves the agent to Opening.Agent. The file is
	// left out of the idempotency hash: a retry sends the same one.
	Agent      *Agent                `json:"agent,omitempty"`
	Permission *requestdb.Permission `json:"-"`
}

// Opening is what, beside the intake itself, decides how a request is opened.
type Opening struct {
	// OpenedBy names the staff member who opened the request; empty for a requester.
	OpenedBy string
	// OpenedByID is the opener's token ID, which the approver's must differ from.
	OpenedByID string
	// GPC records that the requester's browser sent Sec-GPC: 1.
	GPC bool
	// IdempotencyKey, when Keyed, makes a retried intake find the request it opened.
	IdempotencyKey string
	Keyed          bool
	// Agent is the authorized agent who made the request, if one did. No status token is
	// handed out for it: the person opens their pages by the links mailed to them.
	Agent *Agent
}

// hasStatusToken reports whether the opener is handed a status token: only a person who
// asks for themselves is. Staff have their own pages, and an agent is told the outcome by
// mail but never holds the key to the person's report.
func (o Opening) hasStatusToken() bool { return o.OpenedBy == "" && o.Agent == nil }

// Categories are the categories of personal data a request may name: the defaults and
// every data map's own, in display order.
func (s *Service) Categories() domain.Categories { return slices.Clone(s.vocab.categories) }

// CategoryLabel is how the data maps name the category called name to people in lang
// (falling back to English); false when no map labels it.
func (s *Service) CategoryLabel(name, lang string) (string, bool) {
	l := s.vocab.category(name).Label.In(lang)
	return l, l != ""
}

// ValidateIntake checks a submitted form. problems are field problems found while reading
// it (such as details that were not JSON). Staff may open every type; the public may not
// open staff-only types. Changes and a suppression's scope may name the categories of
// s.Categories.
func (s *Service) ValidateIntake(form IntakeForm, problems map[string]string, byStaff bool) (Intake, error) {
	fields := map[string]string{}
	for k, v := range problems {
		fields[k] = v
	}
	var in Intake
	var err error
	in.Type, err = domain.ParseRequestType(strings.TrimSpace(form.Type))
	switch {
	case strings.TrimSpace(form.Type) == "":
		fields["type"] = "is required"
	case err != nil:
		fields["type"] = "unknown request type"
	case in.Type.StaffOnly() && !byStaff:
		return Intake{}, domain.Errorf(domain.CodeForbidden, "this kind of request is opened by staff; please contact us")
	}
	if in.Email, err = domain.NormalizeEmail(form.Email); err != nil {
		fields["email"] = "is not a valid e-mail address"
	} else if in.MailboxEmail, err = domain.MailboxEmail(form.Email); err != nil {
		fields["email"] = "is not a valid e-mail address"
	}
	j := strings.TrimSpace(form.Jurisdiction)
	if j == "" {
		j = string(domain.JurisdictionDefault)
	}
	if in.Jurisdiction, err = domain.ParseJurisdiction(j); err != nil {
		fields["jurisdiction"] = "unknown jurisdiction"
	}
	in.Language = i18n.Fallback.String()
	if l := strings.TrimSpace(form.Language); l != "" {
		tag, ok := i18n.Default().Supported(l)
		if !ok {
			fields["language"] = "unknown language; use one of " + strings.Join(i18n.Default().Codes(), ", ")
		}
		in.Language = tag.String()
	}
	in.Details = form.Details
	switch {
	case form.Agent != nil && byStaff:
		fields["agent"] = "an agent makes a request through the public intake, where the person confirms it"
	case form.Agent != nil:
		in.Agent, in.Permission = validateAgent(*form.Agent, fields)
	}
	var validation *domain.ValidationError
	if _, typeBad := fields["type"]; !typeBad && fields["details"] == "" {
		if err := domain.ValidateIntake(in.Type, in.Details, s.vocab.categories); errors.As(err, &validation) {
			for path, msg := range validation.Fields {
				fields[path] = msg
			}
		}
	}
	if len(fields) > 0 {
		out := domain.InvalidFields(fields)
		out.Validation = validation
		return Intake{}, out
	}
	return in, nil
}

// honourGPC makes a restriction the signal came with include the affiliate-sharing opt-out,
// so its run changes the stores and names the affiliates that already hold data. The
// opt-out itself is recorded for every type, see open.
func (in *Intake) honourGPC() {
	if in.Type == domain.TypeRestrict && !slices.Contains(in.Details.Limits, domain.LimitAffiliateSharing) {
		in.Details.Limits = append(slices.Clone(in.Details.Limits), domain.LimitAffiliateSharing)
	}
}

// Open stores a request and starts its workflow. An Opened answer means the request is
// durable and running; an error means it is closed or was never stored. With an
// idempotency key, a retry answers as the first intake did (replayed reports that).
func (s *Service) Open(ctx context.Context, in Intake, o Opening) (answer Opened, replayed bool, err error) {
	if o.GPC {
		in.honourGPC()
	}
	if in.Agent != nil {
		o.Agent = in.Agent
	}
	if o.Keyed {
		return s.openOnce(ctx, in, o)
	}
	id := uuid.NewString()
	token := ""
	if o.hasStatusToken() {
		if token, _, err = keys.NewToken(); err != nil {
			return Opened{}, false, domain.Internal(fmt.Errorf("status token: %w", err))
		}
	}
	answer, err = s.open(ctx, in, o, id, token)
	return answer, false, err
}

// open records a GPC opt-out, stores the request and starts its workflow. An ID that is
// already stored, which only a takeover of a stalled idempotency key reuses, carries on
// with the stored request.
func (s *Service) open(ctx context.Context, in Intake, o Opening, id, token string) (Opened, error) {
	details, err := json.Marshal(in.Details)
	if err != nil {
		return Opened{}, domain.Internal(fmt.Errorf("encode details: %w", err))
	}
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	rules := s.opts.Jurisdictions.For(in.Jurisdiction, s.opts.Deadline)
	due := rules.DueDate(now)
	identity := s.opts.Identity.Rule(in.Type)
	row := &requestdb.Request{
		ID: id, Type: in.Type, Jurisdiction: in.Jurisdiction, Status: domain.StatusReceived,
		Email: in.Email, MailboxEmail: in.MailboxEmail, EmailHash: s.opts.Secret.EmailHash(in.Email), Details: string(details),
		Language: in.Language, ReceivedAt: now, DueAt: due, OriginalDueAt: due, OpenedBy: o.OpenedBy, UpdatedAt: now,
		Progress: requestdb.Progress{IdentityRequirement: identity.String(), IdentityAttemptsLeft: s.opts.Verification.IdentityAttempts},
		Agent:    agentColumns(o.Agent),
	}
	if ack, ok := rules.AcknowledgeBy(now); ok {
		row.AcknowledgeBy = &ack
	}
	if token != "" {
		row.StatusTokenHash = keys.HashToken(token)
	}
	var optOuts []domain.RestrictLimit
	if o.GPC {
		// An opt-out of sharing needs no proof of identity (CCPA §7026), so it is recorded
		// now, before the mailbox is proven, and stands even if the request goes no further.
		err := s.opts.Store.RecordOptOut(ctx, requestdb.OptOut{
			EmailHash: row.EmailHash, Limit: domain.LimitAffiliateSharing, Source: "gpc", RequestID: row.ID, RecordedAt: now,
		})
		if err != nil {
			return Opened{}, domain.Unavailable(err)
		}
		optOuts = []domain.RestrictLimit{domain.LimitAffiliateSharing}
	}
	if in.Permission != nil {
		// Stored before the row, so that no request reads as made by an agent without
		// the permission staff must review; a retry replaces it.
		if err := s.opts.Store.SavePermission(ctx, id, *in.Permission); err != nil {
			return Opened{}, domain.Unavailable(err)
		}
	}
	switch err := s.opts.Store.CreateRequest(ctx, row); {
	case errors.Is(err, requestdb.ErrConflict):
		if row, err = s.resume(ctx, id); err != nil {
			return Opened{}, err
		}
	case err != nil:
		return Opened{}, domain.Unavailable(err)
	}
	input := workflows.RequestInput{
		RequestID: row.ID, Type: row.Type, Jurisdiction: row.Jurisdiction,
		ReceivedAt: row.ReceivedAt, DueAt: row.DueAt,
		Deadline: s.opts.Jurisdictions.Policy(row.Jurisdiction, row.ReceivedAt, s.opts.Deadline),
		Identity: s.opts.Identity.Rule(row.Type), Verification: s.opts.Verification, OpenedBy: row.OpenedBy,
		OpenedByID: o.OpenedByID, ReviewPermission: row.AgentPermission == requestdb.PermissionPending,
	}
	if err := s.opts.Engine.Start(ctx, input); err != nil {
		s.abandon(row.ID)
		return Opened{}, err
	}
	s.log.Info("request opened", "request_id", row.ID, "type", row.Type, "jurisdiction", row.Jurisdiction, "by_staff", o.OpenedBy != "", "gpc", o.GPC, "by_agent", row.AgentKind)
	return Opened{ID: row.ID, Status: row.Status, StatusToken: token, DueDate: row.DueAt, OptOutsRecorded: optOuts}, nil
}

// resume returns the stored request of an intake that stopped half way, unless it was
// closed meanwhile.
func (s *Service) resume(ctx context.Context, id string) (*requestdb.Request, error) {
	row, err := s.opts.Store.GetRequest(ctx, id)
	if err != nil {
		return nil, domain.Unavailable(err)
	}
	if row.Status.Terminal() {
		return nil, domain.Unavailable(fmt.Errorf("resume request %s: it is %s", id, row.Status))
	}
	return row, nil
}

// abandonTimeout bounds the clean-up after a failed start; the engine is likely down.
const abandonTimeout = 5 * time.Second

// abandonedStep is beyond any step a workflow records, so that a workflow which did start
// despite the error cannot reopen the row.
const abandonedStep = math.MaxInt64

// abandon closes a request whose workflow did not start: the requester was told to try
// again, so the row must not read as open. A start that failed ambiguously may still have
// created the workflow, so that is terminated first, before it mails anyone.
func (s *Service) abandon(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), abandonTimeout)
	defer cancel()
	if err := s.opts.Engine.Terminate(ctx, id, "intake failed to start the workflow"); err != nil {
		s.log.Debug("terminate after failed start", "request_id", id, "error", err)
	}
	reason := "intake failed: the workflow engine did not accept the request"
	status := domain.StatusCancelled
	now := s.opts.Now().UTC()
	_, err := s.opts.Store.ApplyStep(ctx, requestdb.Step{
		RequestID: id, Seq: abandonedStep,
		Event: requestdb.AuditEvent{At: now, Role: domain.RoleSystem.String(), Action: "intake_failed", FromStatus: string(domain.StatusReceived), ToStatus: string(status)},
		Patch: requestdb.Patch{Status: &status, StatusReason: &reason, CompletedAt: &now},
	})
	if err != nil {
		s.log.Error("request left open after its workflow failed to start", "request_id", id, "error", err)
	}
}
