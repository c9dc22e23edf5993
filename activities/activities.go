// Package activities holds every piece of I/O the workflows ask for. Each activity is
// idempotent: a retry or a worker crash never applies a change twice or loses one.
package activities

import (
	"context"
	"net/http"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// Activities holds the dependencies of all activities. Workflows reference its methods
// through a nil pointer; the worker registers one real instance.
type Activities struct {
	Requests *requestdb.Repo
	Mail     mail.Sender
	Secret   keys.Secret
	// Stores are the company's systems a request fans out to. Those whose capabilities
	// include an identity checker also check requesters' data points.
	Stores []connector.Connector
	// Recipients are the affiliates and third parties each store's data is shared with.
	Recipients map[string][]datamap.Recipient
	// Links builds the addresses mail carries.
	Links links.Builder
	// LookupEnv reads the secrets that sign webhook recipients' notices; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// HTTPClient posts webhook recipients' notices; nil means a client of the webhook
	// package's own.
	HTTPClient *http.Client
	// Organization signs the mail.
	Organization string
	// Notices renders mail in the request's language with the organisation's brand and
	// templates; nil means the built-in templates and no brand.
	Notices *mail.Templates
	// OutcomeLabels names the kinds of data a completion notice lists, in the request's
	// language, as the requester's report does (requests.OutcomeLabels.Outcome); nil lists
	// them by their internal names.
	OutcomeLabels func(lang string, found, changed []string) (foundLabels, changedLabels []string)
	// Jurisdictions gives each law's appeal window for the closing notices; nil means
	// domain.BuiltinJurisdictions.
	Jurisdictions *domain.Jurisdictions
	// TeamEmail receives internal alerts; empty means alerts are only logged.
	TeamEmail string
	// Worker names the process that ran an activity, for the record; never PII.
	Worker string
	// Steps hears of every step RecordStep stores, such as telemetry counting status
	// changes; nil means no one listens.
	Steps StepObserver
}

// StepObserver hears of the steps RecordStep stores: once per step, however often the
// activity is retried, and only after the step is committed, so counts made from it are
// exact. It must not block or fail the activity.
type StepObserver interface {
	StepStored(ctx context.Context, step requestdb.Applied)
}

// render renders a notice with the configured templates.
func (a *Activities) render(n mail.Notice) (mail.Message, error) {
	if a.Notices == nil {
		return mail.Render(n)
	}
	return a.Notices.Render(n)
}
