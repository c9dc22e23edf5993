package requestdb

import (
	"time"

	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/tlog"
)

// WithLog returns a Repo that appends each step reaching a milestone to the public
// transparency log, in the step's transaction, so the log holds a milestone exactly when
// the audit trail does.
func (r *Repo) WithLog(log *tlog.Log) *Repo {
	out := *r
	out.log = log
	return &out
}

// LogsMilestones reports whether the Repo appends milestones to a transparency log, and so
// whether a mail may link to a milestone's receipt.
func (r *Repo) LogsMilestones() bool { return r.log != nil }

// logMilestone appends the milestone a newly stored event records, if it records one. due
// is the request's due date after the step.
func (r *Repo) logMilestone(tx *gorm.DB, ev AuditEvent, target stepTarget, due time.Time) error {
	m, ok := tlog.MilestoneOf(ev.Action)
	if r.log == nil || !ok {
		return nil
	}
	_, err := r.log.AppendTx(tx, tlog.MilestoneStep{RequestID: ev.RequestID, Milestone: m, At: ev.At,
		DueAt: due, RequestType: target.Type})
	return err
}
