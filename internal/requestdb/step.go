package requestdb

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/domain"
)

// AuditEvent records who did what to a request. Events are append-only: the database
// refuses to update or delete them, and each one is a link of a hash chain that runs through
// the events of every request in the order they were stored.
type AuditEvent struct {
	ID         string `gorm:"primaryKey"`
	RequestID  string
	Seq        int64
	At         time.Time
	Actor      string
	Role       string
	Action     string
	FromStatus string
	ToStatus   string
	Details    string // JSON text
	// ChainSeq is the event's position in the chain, from 1; 0 for an event stored before
	// the chain existed. PrevHash is the Hash of the event at ChainSeq-1, empty for the
	// first. ApplyStep sets all three.
	ChainSeq int64 `gorm:"default:null"`
	PrevHash string
	Hash     string
}

func (AuditEvent) TableName() string { return "audit_events" }

// ChainFormat names the canonical form that ChainHash hashes; it is the form's first field,
// so that a future form can never produce the hash of this one.
const ChainFormat = "dsr-audit-event/v1"

// ChainHash returns the event's hash in the audit chain: the lower-case hex SHA-256 of its
// canonical form. The form is a sequence of fields, each written as its length in bytes (an
// 8-byte big-endian unsigned integer) followed by its UTF-8 bytes, in this order:
// ChainFormat, chain_seq (decimal), id, request_id, seq (decimal), at (RFC 3339 with
// nanoseconds in UTC, as time.RFC3339Nano formats it), actor, role, action, from_status,
// to_status, details, prev_hash. Length prefixes keep field boundaries unambiguous, and
// prev_hash ties the event to every event before it.
func (e AuditEvent) ChainHash() string {
	h := sha256.New()
	for _, field := range []string{
		ChainFormat, strconv.FormatInt(e.ChainSeq, 10), e.ID, e.RequestID,
		strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano),
		e.Actor, e.Role, e.Action, e.FromStatus, e.ToStatus, e.Details, e.PrevHash,
	} {
		var size [8]byte
		binary.BigEndian.PutUint64(size[:], uint64(len(field)))
		h.Write(size[:])
		h.Write([]byte(field))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Patch lists the request fields a step changes; a nil field is left as it is.
type Patch struct {
	Status          *domain.Status
	DueAt           *time.Time
	ExtendedAt      *time.Time
	ExtensionReason *string
	Assignee        *string
	StatusReason    *string
	JoinedTo        *string
	CompletedAt     *time.Time
	// AgentPermission records staff's decision on an agent's signed permission.
	AgentPermission *PermissionDecision
	// Progress, when set, replaces the request's progress on the mailbox and identity.
	Progress *Progress
	// FailedStores marks systems failed, with the error staff see, unless already done.
	FailedStores map[string]string
	// Suppress puts the request's address on the suppression list; ReleaseClaim lets a
	// later request of its type from its address open. Both go with the step that closes
	// the request, in its transaction.
	Suppress     bool
	ReleaseClaim bool
}

// Step is one workflow step: the event that records it and the change it makes. Seq counts
// the request's steps from 1 and is what makes a step idempotent.
type Step struct {
	RequestID string
	Seq       int64
	Event     AuditEvent
	Patch     Patch
}

// Applied is what ApplyStep did, for callers that report on steps, such as metrics.
type Applied struct {
	// Stored is true when this call stored the step's event, false when an earlier call
	// had (a retry). A caller counting steps counts only stored ones, so that each step
	// counts once however often it is applied.
	Stored bool
	// Type is the request's type.
	Type domain.RequestType
	// From and To are the statuses the event records; equal when the step changed none.
	From, To domain.Status
	// At is when the step happened, as stored.
	At time.Time
	// TimeInFrom is how long the request had been in From: since its previous status
	// change or, for the first, since its receipt. It is set only for a stored status
	// change.
	TimeInFrom time.Duration
}

// Transition reports whether the call stored a change of status.
func (a Applied) Transition() bool { return a.Stored && a.From != a.To }

// ApplyStep records the step's event and applies its patch in one transaction. Activities
// are retried and may run late, so a step the request has already passed changes nothing:
// the event's ID is derived from (RequestID, Seq), a repeated event is not stored again,
// and the patch only applies while the request's StepSeq is lower than Seq. A new event
// becomes the next link of the audit chain. It returns what it applied, and ErrNotFound
// when the request does not exist.
func (r *Repo) ApplyStep(ctx context.Context, s Step) (Applied, error) {
	if s.Seq < 1 {
		return Applied{}, fmt.Errorf("apply step %d to request %s: seq must be positive", s.Seq, s.RequestID)
	}
	ev := s.Event
	ev.ID, ev.RequestID, ev.Seq = fmt.Sprintf("%s:%d", s.RequestID, s.Seq), s.RequestID, s.Seq
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	ev.At = utc(ev.At)
	out := Applied{From: domain.Status(ev.FromStatus), To: domain.Status(ev.ToStatus), At: ev.At}
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var found []stepTarget
		if err := tx.Model(&Request{}).Select("type", "received_at", "email_hash", "due_at").Where("id = ?", s.RequestID).Limit(1).Find(&found).Error; err != nil {
			return err
		}
		if len(found) == 0 {
			return ErrNotFound
		}
		out.Type = found[0].Type
		// Read before the chain head is locked, so the lock is held no longer than before;
		// only status changes ask, a handful per request.
		var entered time.Time
		if out.From != out.To {
			var err error
			if entered, err = enteredStatus(tx, s.RequestID, s.Seq, found[0].ReceivedAt); err != nil {
				return err
			}
		}
		stored, err := r.appendEvent(tx, ev)
		if err != nil {
			return err
		}
		out.Stored = stored
		if stored {
			due := found[0].DueAt
			if s.Patch.DueAt != nil {
				due = *s.Patch.DueAt
			}
			if err := r.logMilestone(tx, ev, found[0], due); err != nil {
				return err
			}
		}
		if stored && out.From != out.To {
			out.TimeInFrom = max(ev.At.Sub(entered), 0)
		}
		// An agent that opened the request by the Data Rights Protocol is owed a status
		// callback on every status change and extension (DRP 2.03, 3.08); owing it here, in
		// the step's transaction, costs the workflow nothing and is never lost.
		if stored && (out.From != out.To || s.Patch.DueAt != nil) {
			if err := enqueueDRPCallback(tx, s.RequestID, s.Seq, ev.At); err != nil {
				return err
			}
		}
		res := tx.Model(&Request{}).Where("id = ? AND step_seq < ?", s.RequestID, s.Seq).
			Updates(s.Patch.columns(s.Seq))
		if res.Error != nil {
			return fmt.Errorf("update request: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		if s.Patch.Suppress {
			if err := suppress(tx, found[0].EmailHash, s.RequestID); err != nil {
				return err
			}
		}
		if s.Patch.ReleaseClaim {
			if err := releaseClaim(tx, s.RequestID); err != nil {
				return err
			}
		}
		return markFailed(tx, s.RequestID, s.Patch.FailedStores)
	})
	if err != nil {
		return Applied{}, fmt.Errorf("apply step %d to request %s: %w", s.Seq, s.RequestID, err)
	}
	return out, nil
}

// stepTarget is what ApplyStep reads of the request it applies a step to.
type stepTarget struct {
	Type       domain.RequestType
	ReceivedAt time.Time
	EmailHash  string
	DueAt      time.Time
}

// enteredStatus returns when the request entered the status it had before step seq: the
// time of its last earlier status change, or received when it has none.
func enteredStatus(tx *gorm.DB, requestID string, seq int64, received time.Time) (time.Time, error) {
	var at []time.Time
	err := tx.Model(&AuditEvent{}).Where("request_id = ? AND seq < ? AND from_status <> to_status", requestID, seq).
		Order("seq DESC").Limit(1).Pluck("at", &at).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("read when the status was entered: %w", err)
	}
	if len(at) == 1 {
		return at[0], nil
	}
	return received, nil
}

// appendEvent links ev to the chain head and stores it, unless an event with its ID exists,
// and reports whether it stored it. Locking the head row first makes concurrent appends
// take turns on PostgreSQL; SQLite's immediate transactions already admit one writer at a
// time.
func (r *Repo) appendEvent(tx *gorm.DB, ev AuditEvent) (bool, error) {
	q := tx.Model(&chainHead{}).Where("id = 1")
	if r.db.Kind == config.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var head chainHead
	if err := q.Take(&head).Error; err != nil {
		return false, fmt.Errorf("lock audit chain head: %w", err)
	}
	ev.ChainSeq, ev.PrevHash = head.ChainSeq+1, head.Hash
	ev.Hash = ev.ChainHash()
	// Only a repeated ID is expected; any other conflict, such as a taken chain position,
	// must fail rather than silently drop the event.
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(&ev)
	if res.Error != nil {
		return false, fmt.Errorf("insert event: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	err := tx.Model(&chainHead{}).Where("id = 1").
		Updates(map[string]any{"chain_seq": ev.ChainSeq, "hash": ev.Hash}).Error
	if err != nil {
		return false, fmt.Errorf("advance audit chain head: %w", err)
	}
	return true, nil
}

// columns returns the assignments for the patch plus the step bookkeeping.
func (p Patch) columns(seq int64) map[string]any {
	cols := map[string]any{"step_seq": seq, "updated_at": utc(time.Now())}
	if p.Status != nil {
		cols["status"] = *p.Status
	}
	for name, t := range map[string]*time.Time{"due_at": p.DueAt, "extended_at": p.ExtendedAt, "completed_at": p.CompletedAt} {
		if t != nil {
			cols[name] = utc(*t)
		}
	}
	for name, v := range map[string]*string{
		"extension_reason": p.ExtensionReason, "assignee": p.Assignee,
		"status_reason": p.StatusReason, "joined_to": p.JoinedTo,
	} {
		if v != nil {
			cols[name] = *v
		}
	}
	if p.AgentPermission != nil {
		cols["agent_permission"] = *p.AgentPermission
	}
	if pr := p.Progress; pr != nil {
		cols["email_verified"], cols["code_attempts_left"] = pr.EmailVerified, pr.CodeAttemptsLeft
		cols["identity_requirement"], cols["identity_verified"] = pr.IdentityRequirement, pr.IdentityVerified
		cols["identity_method"], cols["identity_attempts_left"] = pr.IdentityMethod, pr.IdentityAttemptsLeft
	}
	return cols
}

// AuditEvents returns the request's events in step order.
func (r *Repo) AuditEvents(ctx context.Context, requestID string) ([]AuditEvent, error) {
	var events []AuditEvent
	err := r.db.WithContext(ctx).Where("request_id = ?", requestID).Order("seq").Find(&events).Error
	if err != nil {
		return nil, fmt.Errorf("audit events of request %s: %w", requestID, err)
	}
	normalizeEvents(events)
	return events, nil
}

// chainHead is the one row that holds the last link of the audit chain.
type chainHead struct {
	ID       int `gorm:"primaryKey"`
	ChainSeq int64
	Hash     string
}

func (chainHead) TableName() string { return "audit_chain_head" }

// ChainLink is one position of the audit chain without the event's contents: enough to show
// that the events on either side of it are linked.
type ChainLink struct {
	ChainSeq int64  `json:"chain_seq"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// ChainHead returns the last link of the audit chain, with ChainSeq 0 while it is empty.
// Its PrevHash is always empty: the head row keeps only the position and hash.
func (r *Repo) ChainHead(ctx context.Context) (ChainLink, error) {
	var head chainHead
	if err := r.db.WithContext(ctx).Take(&head, "id = 1").Error; err != nil {
		return ChainLink{}, fmt.Errorf("audit chain head: %w", err)
	}
	return ChainLink{ChainSeq: head.ChainSeq, Hash: head.Hash}, nil
}

// ChainEvents returns up to limit events of the chain that follow position after, in chain
// order, so that a long chain can be read in pages.
func (r *Repo) ChainEvents(ctx context.Context, after int64, limit int) ([]AuditEvent, error) {
	var events []AuditEvent
	err := r.db.WithContext(ctx).Where("chain_seq > ?", after).Order("chain_seq").Limit(limit).Find(&events).Error
	if err != nil {
		return nil, fmt.Errorf("audit chain after position %d: %w", after, err)
	}
	normalizeEvents(events)
	return events, nil
}

// ChainLinks returns the links at the given chain positions in chain order; a position
// that holds no event is left out.
func (r *Repo) ChainLinks(ctx context.Context, positions []int64) ([]ChainLink, error) {
	if len(positions) == 0 {
		return nil, nil
	}
	var links []ChainLink
	err := r.db.WithContext(ctx).Model(&AuditEvent{}).Select("chain_seq", "prev_hash", "hash").
		Where("chain_seq IN ?", positions).Order("chain_seq").Scan(&links).Error
	if err != nil {
		return nil, fmt.Errorf("audit chain links: %w", err)
	}
	return links, nil
}

// UnchainedEvents counts the events stored before the chain existed, which it cannot vouch for.
func (r *Repo) UnchainedEvents(ctx context.Context) (int64, error) {
	var n int64
	if err := r.db.WithContext(ctx).Model(&AuditEvent{}).Where("chain_seq IS NULL").Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count unchained audit events: %w", err)
	}
	return n, nil
}

func normalizeEvents(events []AuditEvent) {
	for i := range events {
		events[i].At = utc(events[i].At)
	}
}
