package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// IntakeForm is the body of POST /api/v1/requests and POST /api/v1/admin/requests. A web
// form sends the same names, with details as a JSON string.
type IntakeForm struct {
	Type         string         `json:"type"`
	Email        string         `json:"email"`
	Jurisdiction string         `json:"jurisdiction,omitempty"`
	Details      domain.Details `json:"details"`
}

// IntakeAnswer is the 202 answer to an intake. StatusToken is the requester's only key to
// the request and is shown once; staff-opened requests have none.
type IntakeAnswer struct {
	ID          string        `json:"id"`
	Status      domain.Status `json:"status"`
	StatusToken string        `json:"status_token,omitempty"`
	DueDate     time.Time     `json:"due_date"`
	// OptOutsRecorded lists the opt-outs recorded from the browser's Global Privacy Control
	// signal: affiliate_sharing when it sent Sec-GPC: 1.
	OptOutsRecorded []domain.RestrictLimit `json:"opt_outs_recorded,omitempty"`
}

// intake is a validated IntakeForm.
type intake struct {
	Type         domain.RequestType
	Email        string
	Jurisdiction domain.Jurisdiction
	Details      domain.Details
}

func (s *Server) intake(c echo.Context) error {
	if err := s.limitIntakeByIP(c); err != nil {
		return err
	}
	in, err := s.readIntake(c, false)
	if err != nil {
		return err
	}
	if err := s.limitIntakeByAddress(in); err != nil {
		return err
	}
	o := opening{gpc: c.Request().Header.Get(headerGPC) == "1"}
	if o.gpc {
		in.honourGPC()
	}
	ctx := c.Request().Context()
	var answer IntakeAnswer
	if key, sent := c.Request().Header[headerIdempotencyKey]; sent {
		var replayed bool
		answer, replayed, err = s.openOnce(ctx, key, in, o)
		if replayed {
			c.Response().Header().Set(headerReplayed, "true")
		}
	} else {
		o.id = uuid.NewString()
		if o.token, _, err = keys.NewToken(); err != nil {
			return internalError(fmt.Errorf("status token: %w", err))
		}
		answer, err = s.openRequest(ctx, in, o)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, answer)
}

// headerGPC carries a browser's Global Privacy Control signal; "1" means do not sell or
// share, a valid opt-out under CCPA §7025.
const headerGPC = "Sec-GPC"

// honourGPC makes a restriction the signal came with include the affiliate-sharing opt-out,
// so its run changes the stores and names the affiliates that already hold data. The
// opt-out itself is recorded for every type, see openRequest.
func (in *intake) honourGPC() {
	if in.Type == domain.TypeRestrict && !slices.Contains(in.Details.Limits, domain.LimitAffiliateSharing) {
		in.Details.Limits = append(slices.Clone(in.Details.Limits), domain.LimitAffiliateSharing)
	}
}

// readIntake decodes and validates an intake. Staff may open every type; the public may not
// open staff-only types (403).
func (s *Server) readIntake(c echo.Context, byStaff bool) (intake, error) {
	var form IntakeForm
	var fields map[string]string
	var err error
	switch {
	case hasMediaType(c, echo.MIMEApplicationForm):
		form, fields, err = decodeIntakeForm(c)
	default:
		err = decodeJSON(c, &form, false)
	}
	if err != nil {
		return intake{}, err
	}
	return validateIntake(form, fields, byStaff)
}

// intakeFormFields are the names a web form may post; a dashboard form signed in by cookie
// adds its CSRF token, which requireRole has checked.
var intakeFormFields = map[string]bool{"type": true, "email": true, "jurisdiction": true, "details": true, csrfField: true}

// decodeIntakeForm reads a urlencoded form. A details field that is not JSON becomes a field
// error, so the form can show it beside its input.
func decodeIntakeForm(c echo.Context) (IntakeForm, map[string]string, error) {
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return IntakeForm{}, nil, readError(err)
	}
	for name := range r.PostForm {
		if !intakeFormFields[name] {
			return IntakeForm{}, nil, fail(http.StatusBadRequest, "the form has a field this endpoint does not take")
		}
	}
	form := IntakeForm{
		Type:         r.PostForm.Get("type"),
		Email:        r.PostForm.Get("email"),
		Jurisdiction: r.PostForm.Get("jurisdiction"),
	}
	fields := map[string]string{}
	if raw := strings.TrimSpace(r.PostForm.Get("details")); raw != "" {
		if err := strictUnmarshal([]byte(raw), &form.Details); err != nil {
			fields["details"] = "is not a valid description of the request"
		}
	}
	return form, fields, nil
}

func validateIntake(form IntakeForm, fields map[string]string, byStaff bool) (intake, error) {
	if fields == nil {
		fields = map[string]string{}
	}
	var in intake
	var err error
	in.Type, err = domain.ParseRequestType(strings.TrimSpace(form.Type))
	switch {
	case strings.TrimSpace(form.Type) == "":
		fields["type"] = "is required"
	case err != nil:
		fields["type"] = "unknown request type"
	case in.Type.StaffOnly() && !byStaff:
		return intake{}, fail(http.StatusForbidden, "this kind of request is opened by staff; please contact us")
	}
	if in.Email, err = domain.NormalizeEmail(form.Email); err != nil {
		fields["email"] = "is not a valid e-mail address"
	}
	j := strings.TrimSpace(form.Jurisdiction)
	if j == "" {
		j = string(domain.JurisdictionDefault)
	}
	if in.Jurisdiction, err = domain.ParseJurisdiction(j); err != nil {
		fields["jurisdiction"] = "unknown jurisdiction"
	}
	in.Details = form.Details
	if _, typeBad := fields["type"]; !typeBad && fields["details"] == "" {
		var v *domain.ValidationError
		if err := domain.ValidateIntake(in.Type, in.Details, domain.DefaultCategories()); errors.As(err, &v) {
			for path, msg := range v.Fields {
				fields[path] = msg
			}
		}
	}
	if len(fields) > 0 {
		return intake{}, invalidFields(fields)
	}
	return in, nil
}

// opening is what, beside the intake itself, decides how a request is opened.
type opening struct {
	// id is chosen before anything is stored, so that an intake retried with its
	// Idempotency-Key finds the request it opened.
	id string
	// token is the requester's status token; staff-opened requests have none.
	token string
	// openedBy names the staff member who opened the request.
	openedBy string
	// gpc records that the requester's browser sent Sec-GPC: 1.
	gpc bool
}

// openRequest records a GPC opt-out, stores the request and starts its workflow. A 202 after
// it means the request is durable and running; an error means it is closed or was never
// stored. An ID that is already stored, which only a takeover of a stalled Idempotency-Key
// reuses, carries on with the stored request.
func (s *Server) openRequest(ctx context.Context, in intake, o opening) (IntakeAnswer, error) {
	details, err := json.Marshal(in.Details)
	if err != nil {
		return IntakeAnswer{}, internalError(fmt.Errorf("encode details: %w", err))
	}
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	due := domain.DueDate(in.Jurisdiction, now, s.opts.Deadline)
	row := &requestdb.Request{
		ID: o.id, Type: in.Type, Jurisdiction: in.Jurisdiction, Status: domain.StatusReceived,
		Email: in.Email, EmailHash: s.opts.Secret.EmailHash(in.Email), Details: string(details),
		ReceivedAt: now, DueAt: due, OriginalDueAt: due, OpenedBy: o.openedBy, UpdatedAt: now,
	}
	if ack, ok := domain.AcknowledgeBy(in.Jurisdiction, now); ok {
		row.AcknowledgeBy = &ack
	}
	if o.token != "" {
		row.StatusTokenHash = keys.HashToken(o.token)
	}
	var optOuts []domain.RestrictLimit
	if o.gpc {
		// An opt-out of sharing needs no proof of identity (CCPA §7026), so it is recorded
		// now, before the mailbox is proven, and stands even if the request goes no further.
		err := s.opts.Requests.RecordOptOut(ctx, requestdb.OptOut{
			EmailHash: row.EmailHash, Limit: domain.LimitAffiliateSharing, Source: "gpc", RequestID: row.ID, RecordedAt: now,
		})
		if err != nil {
			return IntakeAnswer{}, unavailable(err)
		}
		optOuts = []domain.RestrictLimit{domain.LimitAffiliateSharing}
	}
	switch err := s.opts.Requests.CreateRequest(ctx, row); {
	case errors.Is(err, requestdb.ErrConflict):
		if row, err = s.resumeRequest(ctx, o.id); err != nil {
			return IntakeAnswer{}, err
		}
	case err != nil:
		return IntakeAnswer{}, unavailable(err)
	}
	if err := s.startWorkflow(ctx, row, o.openedBy); err != nil && !alreadyStarted(err) {
		s.abandon(row.ID)
		return IntakeAnswer{}, unavailable(err)
	}
	s.log.Info("request opened", "request_id", row.ID, "type", row.Type, "jurisdiction", row.Jurisdiction, "by_staff", o.openedBy != "", "gpc", o.gpc)
	return IntakeAnswer{ID: row.ID, Status: row.Status, StatusToken: o.token, DueDate: row.DueAt, OptOutsRecorded: optOuts}, nil
}

// resumeRequest returns the stored request of an intake that stopped half way, unless it
// was closed meanwhile.
func (s *Server) resumeRequest(ctx context.Context, id string) (*requestdb.Request, error) {
	row, err := s.opts.Requests.GetRequest(ctx, id)
	if err != nil {
		return nil, unavailable(err)
	}
	if row.Status.Terminal() {
		return nil, unavailable(fmt.Errorf("resume request %s: it is %s", id, row.Status))
	}
	return row, nil
}

func alreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}

func (s *Server) startWorkflow(ctx context.Context, row *requestdb.Request, openedBy string) error {
	opts := client.StartWorkflowOptions{
		ID:                    workflows.RequestID(row.ID),
		TaskQueue:             s.opts.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StatusKey.ValueSet(string(row.Status)),
			workflows.RequestTypeKey.ValueSet(string(row.Type)),
			workflows.JurisdictionKey.ValueSet(string(row.Jurisdiction)),
			workflows.DueDateKey.ValueSet(row.DueAt),
		),
	}
	input := workflows.RequestInput{
		RequestID: row.ID, Type: row.Type, Jurisdiction: row.Jurisdiction,
		ReceivedAt: row.ReceivedAt, DueAt: row.DueAt, Deadline: s.opts.Deadline,
		Identity: s.opts.Identity.Rule(row.Type), Verification: s.opts.Verification, OpenedBy: openedBy,
	}
	if _, err := s.opts.Temporal.ExecuteWorkflow(ctx, opts, workflows.Request, input); err != nil {
		return fmt.Errorf("start workflow of request %s: %w", row.ID, err)
	}
	return nil
}

// abandonTimeout bounds the clean-up after a failed start; the engine is likely down.
const abandonTimeout = 5 * time.Second

// abandonedStep is beyond any step a workflow records, so that a workflow which did start
// despite the error cannot reopen the row.
const abandonedStep = math.MaxInt64

// abandon closes a request whose workflow did not start: the requester was told to try
// again, so the row must not read as open. A start that failed ambiguously may still have
// created the workflow, so that is terminated first, before it mails anyone.
func (s *Server) abandon(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), abandonTimeout)
	defer cancel()
	if err := s.opts.Temporal.TerminateWorkflow(ctx, workflows.RequestID(id), "", "intake failed to start the workflow"); err != nil {
		s.log.Debug("terminate after failed start", "request_id", id, "error", err)
	}
	reason := "intake failed: the workflow engine did not accept the request"
	status := domain.StatusCancelled
	now := s.opts.Now().UTC()
	_, err := s.opts.Requests.ApplyStep(ctx, requestdb.Step{
		RequestID: id, Seq: abandonedStep,
		Event: requestdb.AuditEvent{At: now, Role: workflows.RoleSystem, Action: "intake_failed", FromStatus: string(domain.StatusReceived), ToStatus: string(status)},
		Patch: requestdb.Patch{Status: &status, StatusReason: &reason, CompletedAt: &now},
	})
	if err != nil {
		s.log.Error("request left open after its workflow failed to start", "request_id", id, "error", err)
	}
}
