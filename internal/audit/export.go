package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	historypb "go.temporal.io/api/history/v1"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/tlog"
	"github.com/dsr-project/dsr/workflows"
)

// ErrHistoryNotFound is what an ExportDeps.History returns when the engine no longer holds
// the workflow, as happens once a closed workflow passes the namespace's retention period.
// The bundle then says so in history.json instead of failing.
var ErrHistoryNotFound = errors.New("workflow history not found")

// ExportDeps are what Export reads from.
type ExportDeps struct {
	Requests *requestdb.Repo
	// History returns the history of a workflow with its payloads decoded; see
	// TemporalHistory. Export writes it as `temporal workflow show -o json` prints it.
	History func(ctx context.Context, workflowID string) (*historypb.History, error)
	// Signer signs the manifest; see SigningKey.
	Signer ed25519.PrivateKey
	// TransparencyLog, when set, adds transparency.json: the request's log entries with
	// their inclusion proofs against the latest signed checkpoint.
	TransparencyLog *tlog.Log
}

// ExportOptions say what personal data a bundle may hold. By default it holds none beyond
// what the audit trail itself records: the address is replaced by its keyed hash, the values
// a requester asked to change are withheld, data exported for a review is left out, which
// records a store kept is withheld (why and until when stay), and the workflow history
// shows only the payloads known to hold no personal data (see redactHistory).
type ExportOptions struct {
	IncludePII bool
}

// withheldValue stands in for a value left out of a bundle.
const withheldValue = "(withheld)"

// Export gathers the evidence of one request into a signed zip bundle: request.json,
// history.json, audit_events.json, store_results.json, retention.json, notices.json,
// store_plans.json, transparency.json when deps has a log, appeal.json when the request was
// appealed, and manifest.json with the SHA-256 of each, signed in manifest.sig by the key in
// public_key.
// Events appended while it runs are left out, so the bundle shows the chain as of one head.
// It returns an error wrapping requestdb.ErrNotFound when the request does not exist.
func Export(ctx context.Context, deps ExportDeps, requestID string, opts ExportOptions) ([]byte, error) {
	if deps.Signer == nil || deps.History == nil || deps.Requests == nil {
		return nil, fmt.Errorf("export evidence of request %s: missing a dependency", requestID)
	}
	files, err := gatherEvidence(ctx, deps, requestID, opts)
	if err != nil {
		return nil, fmt.Errorf("export evidence of request %s: %w", requestID, err)
	}
	m := manifest{
		Format: BundleFormat, RequestID: requestID, CreatedAt: time.Now().UTC().Truncate(time.Second),
		PersonalData: opts.IncludePII, PublicKey: PublicKey(deps.Signer).PublicKey,
	}
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		m.Files = append(m.Files, manifestFile{Name: f.name, SHA256: hex.EncodeToString(sum[:]), Size: len(f.data)})
	}
	raw, err := marshalFile(m)
	if err != nil {
		return nil, fmt.Errorf("export evidence of request %s: manifest: %w", requestID, err)
	}
	sig := ed25519.Sign(deps.Signer, raw)
	files = append(files,
		bundleFile{fileManifest, raw},
		bundleFile{fileSignature, []byte(base64.StdEncoding.EncodeToString(sig) + "\n")},
		bundleFile{filePublicKey, []byte(m.PublicKey + "\n")},
	)
	return writeZip(files)
}

// gatherEvidence reads everything about the request and returns the content files in order.
func gatherEvidence(ctx context.Context, deps ExportDeps, requestID string, opts ExportOptions) ([]bundleFile, error) {
	repo := deps.Requests
	req, err := repo.GetRequest(ctx, requestID)
	if err != nil {
		return nil, err
	}
	events, err := chainEvidence(ctx, repo, requestID)
	if err != nil {
		return nil, err
	}
	results, err := repo.StoreResults(ctx, requestID)
	if err != nil {
		return nil, err
	}
	mails, err := repo.MailLog(ctx, requestID)
	if err != nil {
		return nil, err
	}
	history, err := historyOf(ctx, deps, requestID, opts)
	if err != nil {
		return nil, err
	}
	plans, err := repo.StorePlans(ctx, requestID)
	if err != nil {
		return nil, err
	}
	var files []bundleFile
	for _, f := range []struct {
		name  string
		value any
	}{
		{fileRequest, requestRecordOf(req, opts)},
		{fileHistory, history},
		{fileEvents, events},
		{fileStoreResults, storeResultsOf(results, opts)},
		{fileRetention, retentionOf(results, opts)},
		{fileNotices, noticesOf(mails)},
		{fileStorePlans, storePlansOf(plans, opts)},
	} {
		data, err := marshalFile(f.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		files = append(files, bundleFile{f.name, data})
	}
	switch ap, err := repo.GetAppeal(ctx, requestID); {
	case err == nil:
		data, err := marshalFile(appealOf(ap, opts))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileAppeal, err)
		}
		files = append(files, bundleFile{fileAppeal, data})
	case !errors.Is(err, requestdb.ErrNotFound):
		return nil, err
	}
	if deps.TransparencyLog != nil {
		ev, err := deps.TransparencyLog.RequestEvidence(ctx, requestID)
		if err != nil {
			return nil, err
		}
		data, err := marshalFile(ev)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileTransparency, err)
		}
		files = append(files, bundleFile{fileTransparency, data})
	}
	return files, nil
}

// appealOf is appeal.json: the request's appeal, who refused and who decided it (by name
// and token ID), when, and why. The person's own words are personal data, withheld unless
// asked for; their length stays, to show that something was written.
func appealOf(ap *requestdb.Appeal, opts ExportOptions) any {
	out := *ap
	if !opts.IncludePII {
		out.Text = fmt.Sprintf("withheld: personal data (%d characters)", utf8.RuneCountInString(ap.Text))
	}
	return out
}

// historyOf returns the request's workflow history, its payloads redacted unless personal
// data was asked for, or a note that the engine no longer holds it.
func historyOf(ctx context.Context, deps ExportDeps, requestID string, opts ExportOptions) (any, error) {
	history, err := deps.History(ctx, workflows.RequestID(requestID))
	switch {
	case errors.Is(err, ErrHistoryNotFound):
		return map[string]string{"unavailable": "the workflow engine no longer holds this request's history; it keeps closed workflows only for the namespace's retention period"}, nil
	case err != nil:
		return nil, fmt.Errorf("workflow history: %w", err)
	}
	if !opts.IncludePII {
		if err := redactHistory(ctx, history); err != nil {
			return nil, fmt.Errorf("workflow history: %w", err)
		}
	}
	raw, err := marshalHistory(history)
	if err != nil {
		return nil, fmt.Errorf("workflow history: %w", err)
	}
	return json.RawMessage(raw), nil
}

// chainEvidence returns the request's events up to the current chain head with the links
// of their neighbours in the chain.
func chainEvidence(ctx context.Context, repo *requestdb.Repo, requestID string) (eventsFile, error) {
	head, err := repo.ChainHead(ctx)
	if err != nil {
		return eventsFile{}, err
	}
	all, err := repo.AuditEvents(ctx, requestID)
	if err != nil {
		return eventsFile{}, err
	}
	out := eventsFile{ChainFormat: requestdb.ChainFormat, ChainHead: chainPoint{head.ChainSeq, head.Hash}, Events: []bundleEvent{}, Links: []requestdb.ChainLink{}}
	own := map[int64]bool{}
	for _, e := range all {
		if e.ChainSeq > head.ChainSeq {
			continue // appended after the head was read
		}
		out.Events = append(out.Events, toBundleEvent(e))
		own[e.ChainSeq] = true
	}
	var neighbours []int64
	for _, e := range out.Events {
		for _, n := range []int64{e.ChainSeq - 1, e.ChainSeq + 1} {
			if e.ChainSeq > 0 && n > 0 && n <= head.ChainSeq && !own[n] && !slices.Contains(neighbours, n) {
				neighbours = append(neighbours, n)
			}
		}
	}
	links, err := repo.ChainLinks(ctx, neighbours)
	if err != nil {
		return eventsFile{}, err
	}
	out.Links = append(out.Links, links...)
	return out, nil
}

// requestRecord is request.json: the request as auditors see it, and which personal data
// was left out.
type requestRecord struct {
	requestdb.Record
	// Withheld names the personal data left out of this record.
	Withheld []string `json:"withheld,omitempty"`
}

func requestRecordOf(r *requestdb.Request, opts ExportOptions) requestRecord {
	rec := requestRecord{Record: r.Record()}
	if opts.IncludePII {
		return rec
	}
	rec.Email = ""
	rec.Withheld = append(rec.Withheld, "email")
	details, withheld := redactDetails(r.Details)
	rec.Details = details
	rec.Withheld = append(rec.Withheld, withheld...)
	return rec
}

// redactDetails keeps what a request asked for (which fields, categories, limits) and
// withholds the values it supplied, which are personal data. Details it cannot read are
// withheld whole.
func redactDetails(raw string) (json.RawMessage, []string) {
	if raw == "" {
		return json.RawMessage("null"), nil
	}
	var d domain.Details
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return json.RawMessage("null"), []string{"details"}
	}
	var withheld []string
	for i := range d.Changes {
		d.Changes[i].Value = withheldValue
	}
	if len(d.Changes) > 0 {
		withheld = append(withheld, "details.changes.value")
	}
	if d.Reason != "" {
		d.Reason = withheldValue
		withheld = append(withheld, "details.reason")
	}
	b, err := json.Marshal(d)
	if err != nil {
		return json.RawMessage("null"), []string{"details"}
	}
	return b, withheld
}

// storeResultsOf is store_results.json: each system's result, opened from its sealed row.
// A correction's old values and the records a system kept are there only in a bundle that
// may hold personal data.
func storeResultsOf(results []connector.Result, opts ExportOptions) []connector.Result {
	out := make([]connector.Result, len(results))
	for i, r := range results {
		if !opts.IncludePII {
			r.Export = nil
			// Which fields a correction replaced is evidence; their old values are not.
			before := make([]connector.PriorValue, len(r.Before))
			for j, b := range r.Before {
				before[j] = connector.PriorValue{Table: b.Table, Field: b.Field, Value: withheldValue}
			}
			r.Before = before
			r.Retained = withholdRecords(r.Retained)
		}
		out[i] = r
	}
	return out
}

// storePlan is one entry of store_plans.json: what a system was planned to change, with
// the SHA-256 the audit chain's store_planned event records. With personal data the plan
// is the exact JSON that digest is of; without, row keys and kept records are withheld
// (an order number verifies a requester), and counts, columns and actions stay.
type storePlan struct {
	Store     string               `json:"store"`
	SHA256    string               `json:"sha256"`
	PlannedAt time.Time            `json:"planned_at"`
	Plan      connector.ChangePlan `json:"plan"`
	Withheld  []string             `json:"withheld,omitempty"`
}

func storePlansOf(plans []requestdb.SealedPlan, opts ExportOptions) []storePlan {
	out := []storePlan{}
	for _, p := range plans {
		sp := storePlan{Store: p.Store, SHA256: p.SHA256, PlannedAt: p.PlannedAt, Plan: p.Plan}
		if !opts.IncludePII {
			sp.Plan.Retained = withholdRecords(p.Plan.Retained)
			sp.Plan.Tables = make([]connector.TableChange, len(p.Plan.Tables))
			for i, t := range p.Plan.Tables {
				t.Rows = nil
				sp.Plan.Tables[i] = t
			}
			sp.Withheld = []string{"plan.tables.rows", "plan.retained.what"}
		}
		out = append(out, sp)
	}
	return out
}

// withholdRecords keeps why and until when data was kept, and withholds which record it
// was: a store describes it by its values ("order DEMO-70002 of 2026-05-20"), and an
// order number is itself one of the data points that verify a requester.
func withholdRecords(kept []connector.Retention) []connector.Retention {
	if kept == nil {
		return nil
	}
	out := make([]connector.Retention, len(kept))
	for i, k := range kept {
		k.What = withheldValue
		if k.Ref != "" {
			k.Ref = withheldValue
		}
		out[i] = k
	}
	return out
}

// retentionRecord is one entry of retention.json: data a system keeps despite the request.
type retentionRecord struct {
	Store string `json:"store"`
	connector.Retention
}

func retentionOf(results []connector.Result, opts ExportOptions) []retentionRecord {
	out := []retentionRecord{}
	for _, r := range results {
		retained := r.Retained
		if !opts.IncludePII {
			retained = withholdRecords(retained)
		}
		for _, kept := range retained {
			out = append(out, retentionRecord{Store: r.Store, Retention: kept})
		}
	}
	return out
}

// noticeRecord is one entry of notices.json. Bodies are never stored, so never exported.
type noticeRecord struct {
	Key    string    `json:"key"`
	Kind   string    `json:"kind"`
	SentAt time.Time `json:"sent_at"`
}

func noticesOf(mails []requestdb.MailRecord) []noticeRecord {
	out := make([]noticeRecord, len(mails))
	for i, m := range mails {
		out[i] = noticeRecord{Key: m.Key, Kind: m.Kind, SentAt: m.SentAt}
	}
	return out
}
