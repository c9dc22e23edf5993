package requests

import (
	"context"
	"fmt"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/workflows"
)

// EmailSearchKey returns the keyed hash that requests from an address are filed under, so
// that staff can look a person's requests up without the address reaching a query, a link
// or a log. It fails with an invalid field "search" when s is not an address.
func (s *Service) EmailSearchKey(email string) (string, error) {
	normalized, err := domain.NormalizeEmail(email)
	if err != nil {
		return "", domain.InvalidFields(map[string]string{"search": "must be a request ID or an e-mail address"})
	}
	return s.opts.Secret.EmailHash(normalized), nil
}

// ListQuery is one page of the staff list. Counts asks for the number of requests in each
// status under the other filters as well, for the queue's tabs.
type ListQuery struct {
	Filter requestdb.RequestFilter
	Order  requestdb.RequestOrder
	After  *requestdb.Cursor
	Limit  int
	Counts bool
}

// ListPage is a page of the staff list; Next is nil on the last page.
type ListPage struct {
	Rows   []requestdb.RequestSummary
	Next   *requestdb.Cursor
	Counts map[domain.Status]int64
}

// ListRequests reads a page of the staff list for by. A search by address is a use of the
// person's data, so its first page is recorded in the search log, with who searched and
// never the address, before anything is read; a search that cannot be recorded is not run.
func (s *Service) ListRequests(ctx context.Context, q ListQuery, by workflows.Actor) (ListPage, error) {
	if q.Filter.EmailHash != "" && q.After == nil {
		err := s.opts.Store.RecordSearch(ctx, requestdb.StaffSearch{
			At: s.opts.Now(), Actor: by.Name, ActorID: by.ID, Role: string(by.Role), Kind: requestdb.SearchByEmail,
		})
		if err != nil {
			return ListPage{}, domain.Unavailable(err)
		}
	}
	var page ListPage
	var err error
	page.Rows, page.Next, err = s.opts.Store.ListRequests(ctx, q.Filter, q.Order, q.After, q.Limit)
	if err != nil {
		return ListPage{}, domain.Unavailable(fmt.Errorf("list requests: %w", err))
	}
	if q.Counts {
		if page.Counts, err = s.opts.Store.CountStatuses(ctx, q.Filter); err != nil {
			return ListPage{}, domain.Unavailable(err)
		}
	}
	return page, nil
}
