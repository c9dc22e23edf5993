package workflows

import (
	"errors"
	"slices"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
)

// Which staff actions a request takes in the state it is in. The update validators and the
// privacy team's pages both ask StaffFacts, so a page offers exactly what the workflow takes.
// What the staff member types (a reason, a note) the validators check on their own.

// StaffUpdates are the updates staff send, in the order the pages offer them.
var StaffUpdates = []string{
	UpdateAcceptPermission, UpdateRefusePermission, UpdateApprove, UpdateVerifyIdentity, UpdateDeny, UpdateExtend, UpdateCancel, UpdateRetryStore, UpdateAddNote, UpdateAssign,
}

// StaffFacts is what decides whether a request takes a staff action now. The workflow fills
// it from its state; a page fills it from the request's row and its stores' progress.
type StaffFacts struct {
	Status domain.Status
	// Ending is set while the workflow carries out a cancellation or denial it took.
	Ending        bool
	Extended      bool
	OriginalDueAt time.Time
	Now           time.Time
	// FailedStores are the systems staff may retry.
	FailedStores []string
	// OpenedBy and OpenedByID name who opened a staff-only request; a page that knows only
	// the name leaves the ID empty.
	OpenedBy   string
	OpenedByID string
	// PermissionPending is set while an agent's permission waits for staff's decision.
	PermissionPending bool
}

// Refusal says why the request refuses update from actor now, or nil when it takes it.
func (f StaffFacts) Refusal(update string, actor Actor) error {
	switch update {
	case UpdateAcceptPermission, UpdateRefusePermission:
		if err := f.requireStatus(domain.StatusPendingReview); err != nil {
			return err
		}
		if !f.PermissionPending {
			return errors.New("no agent's permission waits for a decision")
		}
		return nil
	case UpdateApprove:
		if err := f.requireStatus(domain.StatusPendingReview); err != nil {
			return err
		}
		if f.PermissionPending {
			return errPermissionFirst
		}
		if f.OpenedBy != "" && f.openedBy(actor) {
			return errors.New("a second staff member must approve a request that staff opened")
		}
		return nil
	case UpdateVerifyIdentity:
		return f.requireStatus(domain.StatusAwaitingIdentityVerification, domain.StatusPendingReview)
	case UpdateDeny:
		return f.requireStatus(domain.StatusAwaitingEmailVerification, domain.StatusAwaitingIdentityVerification, domain.StatusPendingReview, domain.StatusNeedsAttention)
	case UpdateExtend:
		switch {
		case f.Status.Terminal():
			return errTerminal
		case f.Extended:
			return errors.New("the request has already been extended once")
		case !f.Now.Before(f.OriginalDueAt):
			return errors.New("an extension must be given before the original due date")
		}
		return nil
	case UpdateCancel:
		if f.Status == domain.StatusInProgress {
			return errBusy
		}
		return f.requireStatus(domain.StatusReceived, domain.StatusAwaitingEmailVerification, domain.StatusAwaitingIdentityVerification,
			domain.StatusPendingReview, domain.StatusAwaitingManualTasks, domain.StatusNeedsAttention)
	case UpdateRetryStore:
		if err := f.requireStatus(domain.StatusNeedsAttention); err != nil {
			return err
		}
		if len(f.FailedStores) == 0 {
			return errors.New("no store has failed")
		}
		return nil
	case UpdateAddNote:
		return nil
	case UpdateAssign:
		if f.Status.Terminal() {
			return errTerminal
		}
		return nil
	}
	return errors.New("no such staff action")
}

// Offered lists the staff updates the request takes from actor now, in StaffUpdates' order.
// A closed request's workflow has ended and takes no update at all.
func (f StaffFacts) Offered(actor Actor) []string {
	if f.Status.Terminal() {
		return nil
	}
	var out []string
	for _, u := range StaffUpdates {
		if f.Refusal(u, actor) == nil {
			out = append(out, u)
		}
	}
	return out
}

func (f StaffFacts) requireStatus(allowed ...domain.Status) error {
	if f.Status.Terminal() || f.Ending {
		return errTerminal
	}
	if !slices.Contains(allowed, f.Status) {
		return errNotNow(f.Status)
	}
	return nil
}

// openedBy reports whether actor is the staff member who opened the request: the same
// token, or a token whose name differs only in case or spacing, since one person may hold
// several tokens under their name. Requests started before the opener's token ID was
// recorded compare names alone.
func (f StaffFacts) openedBy(actor Actor) bool {
	if f.OpenedByID != "" && actor.ID == f.OpenedByID {
		return true
	}
	return sameName(actor.Name, f.OpenedBy)
}

// staffFacts are the request's own facts at the workflow's now.
func (r *request) staffFacts(now time.Time) StaffFacts {
	return StaffFacts{
		Status: r.state.Status, Ending: r.cancelled != nil || r.denied != nil,
		Extended: r.state.Extended, OriginalDueAt: r.state.OriginalDueAt, Now: now,
		FailedStores: r.failedStores(), OpenedBy: r.in.OpenedBy, OpenedByID: r.in.OpenedByID,
		PermissionPending: r.state.PermissionPending,
	}
}
