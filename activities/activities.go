// Package activities holds every piece of I/O the workflows ask for. Each activity is
// idempotent: a retry or a worker crash never applies a change twice or loses one.
package activities

import (
	"github.com/dsr-project/dsr/internal/database"
)

// Activities holds the dependencies of all activities. Workflows reference its methods
// through a nil pointer; the worker registers one real instance.
type Activities struct {
	DB *database.DB
	// Worker names the process that ran an activity, for the record; never PII.
	Worker string
}
