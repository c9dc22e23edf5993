package drp

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
)

// dataPoints are the answers to dsr's identity questions that the identity claims of
// section 3.04 give: the address claim's postal code and the phone number's last four
// digits. The e-mail claim is the address the request is matched on.
func dataPoints(msg exerciseMessage) map[string]string {
	out := map[string]string{}
	if msg.Address != nil && strings.TrimSpace(msg.Address.PostalCode) != "" {
		out["postal_code"] = strings.TrimSpace(msg.Address.PostalCode)
	}
	digits := strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, msg.PhoneNumber)
	if len(digits) >= 4 {
		out["phone_last4"] = digits[len(digits)-4:]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// IdentityStore is what the identity feeder reads and writes; *requestdb.Repo is one.
type IdentityStore interface {
	ClaimDRPIdentities(ctx context.Context, now time.Time, limit int) ([]requestdb.DRPIdentity, error)
	DRPIdentityHandedOver(ctx context.Context, requestID string, done bool) error
}

// IdentityFeeder hands the data points of an agent's claims to a request's identity check
// once the request asks for them, as the person would on dsr's page; if they do not
// suffice, the person can still answer there. Claims are erased once handed over or when
// the request closes.
type IdentityFeeder struct {
	Store    IdentityStore
	Requests *requests.Service
	// Interval is how often requests are looked at; zero means a second.
	Interval time.Duration
	Log      *slog.Logger
}

// Run feeds until ctx ends.
func (f *IdentityFeeder) Run(ctx context.Context) {
	every(ctx, f.Interval, func() error { return f.FeedDue(ctx) }, f.log(), "drp identity claims")
}

// FeedDue hands over the claims of every request that now waits for data points.
func (f *IdentityFeeder) FeedDue(ctx context.Context) error {
	due, err := f.Store.ClaimDRPIdentities(ctx, time.Now(), callbackBatch)
	if err != nil {
		return err
	}
	for _, d := range due {
		res, err := f.Requests.SubmitIdentity(ctx, d.RequestID, d.Answers)
		// Only a check that could not run is tried again; any other answer, such as a request
		// that no longer waits for data points, ends the hand-over.
		done := err == nil || domain.ErrorCodeOf(err) != domain.CodeUnavailable
		if herr := f.Store.DRPIdentityHandedOver(ctx, d.RequestID, done); herr != nil {
			return herr
		}
		if err != nil && !done {
			f.log().Info("drp identity claims not checked; will retry", "request_id", d.RequestID, "error", err)
			continue
		}
		f.log().Info("drp identity claims checked", "request_id", d.RequestID, "verified", res.Verified)
	}
	return nil
}

func (f *IdentityFeeder) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.New(slog.DiscardHandler)
}
