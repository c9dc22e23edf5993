package requests

import (
	"context"
	"errors"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// Appeals of refusals. A request may be appealed when it ended refused in whole or in
// part, under a jurisdiction whose table has an appeal section, within that section's
// window from the decision:
//
//   - refused in whole: the request ended denied;
//   - refused in part ("partly fulfilled"): it completed, but a store kept some of the
//     person's records under a retention exception. dsr's stores never refuse a request
//     outright; what they keep is the only part of a completed request that is not done.
//
// The staff member who refused (the actor of the closing step, by token ID) may not decide
// the appeal. A granted appeal withdraws the refusal: the person is told so, and the
// privacy team acts on it by hand (the dashboard lists granted appeals), since the
// request's own workflow has ended. A denied appeal's notice names the jurisdiction's
// regulator.

// Reasons and kinds of the refusals of an appeal, stable for programs and pages.
const (
	ReasonNotAppealable      = "not_appealable"
	ReasonAppealWindowClosed = "appeal_window_closed"
	ReasonAppealExists       = "appeal_exists"
)

// Rules returns the table's rules for a jurisdiction, as this deployment applies them.
func (s *Service) Rules(j domain.Jurisdiction) domain.Rules {
	return s.opts.Jurisdictions.For(j, s.opts.Deadline)
}

// AppealOffer is what a request's pages show about appealing it.
type AppealOffer struct {
	// Appealable says the request was refused in whole or in part under a law that offers
	// an appeal; Partly says in part.
	Appealable bool
	Partly     bool
	// Until is when the window to appeal closes; Open says it is open now and the request
	// has no appeal yet.
	Until time.Time
	Open  bool
	// Appeal is the request's appeal, once made.
	Appeal *requestdb.Appeal
	// Regulator is whom the person may complain to; nil when the table names none.
	Regulator *domain.Regulator
}

// AppealOf says whether and until when the request may be appealed, and returns its
// appeal if it has one.
func (s *Service) AppealOf(ctx context.Context, row *requestdb.Request) (AppealOffer, error) {
	rules := s.opts.Jurisdictions.For(row.Jurisdiction, s.opts.Deadline)
	offer := AppealOffer{Regulator: rules.Regulator}
	ap, err := s.opts.Store.GetAppeal(ctx, row.ID)
	switch {
	case err == nil:
		offer.Appeal = ap
	case !errors.Is(err, requestdb.ErrNotFound):
		return AppealOffer{}, domain.Unavailable(err)
	}
	decided := row.UpdatedAt
	if row.CompletedAt != nil {
		decided = *row.CompletedAt
	}
	until, ok := rules.AppealWindowEnds(decided)
	if !ok {
		return offer, nil
	}
	switch row.Status {
	case domain.StatusDenied:
		offer.Appealable = true
	case domain.StatusCompleted:
		results, err := s.opts.Store.StoreResults(ctx, row.ID)
		if err != nil {
			return AppealOffer{}, domain.Unavailable(err)
		}
		for _, r := range results {
			if len(r.Retained) > 0 {
				offer.Appealable, offer.Partly = true, true
			}
		}
	}
	if offer.Appealable {
		offer.Until = until
		offer.Open = offer.Appeal == nil && s.opts.Now().Before(until)
	}
	return offer, nil
}

// SubmitAppeal records the person's appeal of a refused request and starts its workflow,
// due by the jurisdiction's table. It returns an invalid error for unusable text and a
// refusal when the request cannot be appealed, the window has closed, or it has been
// appealed already. A repeat of the same submission resumes it.
func (s *Service) SubmitAppeal(ctx context.Context, row *requestdb.Request, text string) (*requestdb.Appeal, error) {
	if p := domain.CheckAppealText(text); p != "" {
		err := domain.InvalidFields(map[string]string{"text": p.Message()})
		err.Kind = string(p)
		return nil, err
	}
	offer, err := s.AppealOf(ctx, row)
	if err != nil {
		return nil, err
	}
	if ap := offer.Appeal; ap != nil {
		if ap.Text != text {
			return nil, appealRefusal(ReasonAppealExists, "this request has already been appealed; each request is appealed once")
		}
		// The same submission again: make sure its workflow runs.
		return ap, s.startAppeal(ctx, row, ap, offer)
	}
	switch {
	case !offer.Appealable:
		return nil, appealRefusal(ReasonNotAppealable, "only a request that was refused, in whole or in part, can be appealed")
	case !offer.Open:
		return nil, appealRefusal(ReasonAppealWindowClosed, "the time to appeal this decision has passed")
	}
	refuser, err := s.refuser(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	due := s.opts.Jurisdictions.For(row.Jurisdiction, s.opts.Deadline).AppealDueDate(now)
	ap := &requestdb.Appeal{
		RequestID: row.ID, Status: domain.AppealOpen, Text: text, ReceivedAt: now, DueAt: due, OriginalDueAt: due,
		RefusedBy: refuser.Name, RefusedByID: refuser.ID,
	}
	switch err := s.opts.Store.CreateAppeal(ctx, ap); {
	case errors.Is(err, requestdb.ErrConflict):
		return s.SubmitAppeal(ctx, row, text)
	case err != nil:
		return nil, domain.Unavailable(err)
	}
	return ap, s.startAppeal(ctx, row, ap, offer)
}

func appealRefusal(reason, message string) *domain.Error {
	err := domain.Refusal(reason, message)
	err.Kind = reason
	return err
}

func (s *Service) startAppeal(ctx context.Context, row *requestdb.Request, ap *requestdb.Appeal, offer AppealOffer) error {
	in := workflows.AppealInput{
		RequestID: row.ID, RequestStatus: row.Status, ReceivedAt: ap.ReceivedAt, DueAt: ap.OriginalDueAt,
		Extension:   s.opts.Jurisdictions.For(row.Jurisdiction, s.opts.Deadline).AppealExtensionRule(ap.ReceivedAt),
		RefusedByID: ap.RefusedByID,
	}
	if offer.Regulator != nil {
		in.Regulator = *offer.Regulator
	}
	return s.opts.Engine.StartAppeal(ctx, in)
}

// refuser is the staff member behind the step that closed the request, or the zero Actor
// when the system closed it. Only the workflow's history keeps the staff member's token ID.
func (s *Service) refuser(ctx context.Context, requestID string) (workflows.Actor, error) {
	st, err := s.opts.Engine.State(ctx, requestID)
	if err != nil {
		return workflows.Actor{}, err
	}
	for _, step := range st.Steps {
		if step.Status.Terminal() {
			if step.Actor.Role.Staff() {
				return step.Actor, nil
			}
			break
		}
	}
	return workflows.Actor{}, nil
}

// AppealDecision is a staff member's decision of an appeal.
type AppealDecision struct {
	Actor   workflows.Actor
	Granted bool
	Reason  string
}

// DecideAppeal grants or denies the request's appeal through its workflow, which refuses a
// decision by the staff member who refused the request.
func (s *Service) DecideAppeal(ctx context.Context, requestID string, d AppealDecision) error {
	if _, err := s.Appeal(ctx, requestID); err != nil {
		return err
	}
	return s.opts.Engine.UpdateAppeal(ctx, requestID, workflows.UpdateDecideAppeal, nil,
		workflows.DecideAppealInput{Actor: d.Actor, Granted: d.Granted, Reason: d.Reason})
}

// ExtendAppeal moves the appeal's due date once, where the jurisdiction allows it.
func (s *Service) ExtendAppeal(ctx context.Context, requestID string, actor workflows.Actor, reason string) error {
	if _, err := s.Appeal(ctx, requestID); err != nil {
		return err
	}
	return s.opts.Engine.UpdateAppeal(ctx, requestID, workflows.UpdateExtendAppeal, nil,
		workflows.ExtendAppealInput{Actor: actor, Reason: reason})
}

var errNoAppeal = domain.Errorf(domain.CodeNotFound, "this request has no appeal")

// Appeal returns the request's appeal, or a not-found error.
func (s *Service) Appeal(ctx context.Context, requestID string) (*requestdb.Appeal, error) {
	if _, err := s.Find(ctx, requestID); err != nil {
		return nil, err
	}
	ap, err := s.opts.Store.GetAppeal(ctx, requestID)
	switch {
	case errors.Is(err, requestdb.ErrNotFound):
		return nil, errNoAppeal
	case err != nil:
		return nil, domain.Unavailable(err)
	}
	return ap, nil
}

// Appeals lists the appeals in a status, or all of them for the empty status, due first.
func (s *Service) Appeals(ctx context.Context, status domain.AppealStatus) ([]requestdb.Appeal, error) {
	out, err := s.opts.Store.ListAppeals(ctx, status)
	if err != nil {
		return nil, domain.Unavailable(err)
	}
	return out, nil
}
