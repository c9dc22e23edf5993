package demo

import (
	"context"
	"fmt"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/domain"
)

// Connector runs privacy requests against the demo store.
type Connector struct {
	Store *Store
	// SuppressionKey keys the hashes on the suppression list.
	SuppressionKey []byte
}

// Name is the store's name in results and in the workflow.
func (c Connector) Name() string { return StoreName }

// Apply maps the request type to the store's operation; a child's data is erased like a
// suppression of everything.
func (c Connector) Apply(ctx context.Context, op connector.Operation) (connector.Result, error) {
	switch op.Type {
	case domain.TypeReview:
		return c.Store.Review(ctx, op.RequestID, op.Email)
	case domain.TypeCorrect, domain.TypeUpdate:
		return c.Store.Correct(ctx, op.RequestID, op.Email, op.Details.Changes)
	case domain.TypeSuppress:
		scope := domain.SuppressScope{All: true}
		if op.Details.Scope != nil {
			scope = *op.Details.Scope
		}
		return c.Store.Suppress(ctx, op.RequestID, op.Email, scope, c.SuppressionKey)
	case domain.TypeChildErasure:
		return c.Store.Suppress(ctx, op.RequestID, op.Email, domain.SuppressScope{All: true}, c.SuppressionKey)
	case domain.TypeRestrict:
		return c.Store.Restrict(ctx, op.RequestID, op.Email, op.Details.Limits)
	}
	return connector.Result{}, fmt.Errorf("demo store: request type %q not supported", op.Type)
}
