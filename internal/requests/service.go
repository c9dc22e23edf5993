// Package requests is what dsr does with privacy requests, whoever asks: intake, the
// requester's and the privacy team's actions, manual tasks, store callbacks, the status
// views and the report. The JSON API, the web pages and the CLI call it; it reaches the
// application database and the workflow engine only through the narrow interfaces below.
// Its errors are *domain.Error values, which each front maps to its own answer once.
package requests

import (
	"context"
	"log/slog"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// Store is the part of the application database the service uses; *requestdb.Repo is one.
type Store interface {
	CreateRequest(ctx context.Context, req *requestdb.Request) error
	GetRequest(ctx context.Context, id string) (*requestdb.Request, error)
	ApplyStep(ctx context.Context, s requestdb.Step) (requestdb.Applied, error)
	RecordOptOut(ctx context.Context, o requestdb.OptOut) error
	ListRequests(ctx context.Context, f requestdb.RequestFilter, order requestdb.RequestOrder, after *requestdb.Cursor, limit int) ([]requestdb.RequestSummary, *requestdb.Cursor, error)
	CountStatuses(ctx context.Context, f requestdb.RequestFilter) (map[domain.Status]int64, error)
	RecordSearch(ctx context.Context, s requestdb.StaffSearch) error
	AuditEvents(ctx context.Context, requestID string) ([]requestdb.AuditEvent, error)
	StoreResults(ctx context.Context, requestID string) ([]connector.Result, error)
	StoreProgressOf(ctx context.Context, requestID string) ([]requestdb.StoreProgress, error)
	StorePlans(ctx context.Context, requestID string) ([]requestdb.SealedPlan, error)
	RecipientNotices(ctx context.Context, requestID string) ([]requestdb.RecipientNoticeRecord, error)
	TasksOf(ctx context.Context, requestID string) ([]requestdb.Task, error)
	GetTask(ctx context.Context, id string) (*requestdb.Task, error)
	CompleteTask(ctx context.Context, id string, result connector.Result, note, by string) (*requestdb.Task, error)
	RecordAccess(ctx context.Context, requestID, actor, role, details string) error
	ClaimIdempotencyKey(ctx context.Context, k requestdb.IdempotencyKey) (requestdb.IdempotencyKey, bool, error)
	TakeOverIdempotencyKey(ctx context.Context, held requestdb.IdempotencyKey, now time.Time) (bool, error)
	CompleteIdempotencyKey(ctx context.Context, keyHash, answer string, at time.Time) error
	ReleaseIdempotencyKey(ctx context.Context, keyHash string) error
	CreateAppeal(ctx context.Context, ap *requestdb.Appeal) error
	GetAppeal(ctx context.Context, requestID string) (*requestdb.Appeal, error)
	ListAppeals(ctx context.Context, status domain.AppealStatus) ([]requestdb.Appeal, error)
	SavePermission(ctx context.Context, requestID string, p requestdb.Permission) error
	GetPermission(ctx context.Context, requestID string) (requestdb.Permission, error)
}

// Engine runs request workflows; TemporalEngine is the real one. Its errors are
// *domain.Error values: a refusal by the workflow is a conflict, an engine that does not
// answer is unavailable.
type Engine interface {
	Start(ctx context.Context, in workflows.RequestInput) error
	Update(ctx context.Context, requestID, name string, result any, args ...any) error
	Terminate(ctx context.Context, requestID, reason string) error
	// State is the workflow's own account of the request, for debugging and for auditors;
	// every view people use reads the database instead.
	State(ctx context.Context, requestID string) (workflows.RequestState, error)
	// StartAppeal and UpdateAppeal run a request's appeal workflow, as Start and Update
	// run its own.
	StartAppeal(ctx context.Context, in workflows.AppealInput) error
	UpdateAppeal(ctx context.Context, requestID, name string, result any, args ...any) error
}

// Options are the service's dependencies and the policies intake fixes on each request.
type Options struct {
	Store  Store
	Engine Engine
	Secret keys.Secret
	Links  links.Builder
	// Identity, Deadline and Verification are fixed on each request at intake. A nil
	// Identity means domain.DefaultIdentityPolicy, a zero Verification the defaults.
	Identity     domain.IdentityPolicy
	Deadline     domain.DeadlinePolicy
	Verification workflows.VerificationSettings
	// Jurisdictions gives each law's deadlines; nil means domain.BuiltinJurisdictions.
	Jurisdictions *domain.Jurisdictions
	// Now is the service's clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
	// DataMaps name the stores, tables, columns and categories to requesters; a store no
	// map describes reads as a readable form of its internal names.
	DataMaps []*datamap.Map
}

// Service carries out what people ask of dsr. It is safe for concurrent use.
type Service struct {
	opts  Options
	log   *slog.Logger
	vocab vocabulary
}

// New returns a Service, filling in the defaults Options documents.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jurisdictions == nil {
		opts.Jurisdictions = domain.BuiltinJurisdictions()
	}
	if opts.Identity == nil {
		opts.Identity = domain.DefaultIdentityPolicy()
	}
	if opts.Verification == (workflows.VerificationSettings{}) {
		opts.Verification = workflows.DefaultVerificationSettings()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, log: opts.Log, vocab: newVocabulary(opts.DataMaps)}
}

// Links returns the builder of the addresses the service hands out.
func (s *Service) Links() links.Builder { return s.opts.Links }

// errNoRequest answers an unknown or malformed request ID.
var errNoRequest = domain.Errorf(domain.CodeNotFound, "no such request")
