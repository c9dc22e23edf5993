// Package manual connects dsr to systems only people can reach: for each request it opens a
// task for the privacy team, and the request waits until a staff member completes it with
// what they found and did.
package manual

import (
	"context"
	"fmt"
	"time"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// DefaultTaskDays is how long the team has for a task: half the shortest legal deadline,
// so there is time left to tell the requester.
const DefaultTaskDays = 14

// Connector opens tasks for one manual store of the data map.
type Connector struct {
	store datamap.Store
	tasks *requestdb.Repo
}

// New returns the connector for a manual store.
func New(store datamap.Store, tasks *requestdb.Repo) *Connector {
	return &Connector{store: store, tasks: tasks}
}

// Name is the store's name in the data map.
func (c *Connector) Name() string { return c.store.Name }

// Capabilities: a plan only. dsr reads nothing in a manual store, so it can neither match
// data points there nor erase what the store kept; people do that through their tasks, and
// the plan is the instructions those tasks give them.
func (c *Connector) Capabilities() connector.Capabilities {
	return connector.Capabilities{Planner: c}
}

// Plan is the store's instructions: dsr cannot see what people will find there.
func (c *Connector) Plan(ctx context.Context, op connector.Operation) (connector.ChangePlan, error) {
	return connector.ChangePlan{Store: c.store.Name, Instructions: c.store.Instructions}, nil
}

// Apply opens the request's task (once) and reports that the result comes later.
func (c *Connector) Apply(ctx context.Context, op connector.Operation) (connector.Result, error) {
	err := c.tasks.CreateTask(ctx, requestdb.Task{
		RequestID: op.RequestID, Store: c.store.Name, Operation: string(op.Type),
		Instructions: c.store.Instructions, DueAt: time.Now().AddDate(0, 0, DefaultTaskDays),
	})
	if err != nil {
		return connector.Result{}, err
	}
	return connector.Result{}, fmt.Errorf("store %s: task %s is open: %w", c.store.Name, requestdb.TaskID(op.RequestID, c.store.Name), connector.ErrPending)
}
