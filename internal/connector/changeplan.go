package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Planner works out, changing nothing, what an operation would change in a system, so that
// an analyst can see it before it happens and the apply can be held to it. Callers find a
// system's planner in its Capabilities.
type Planner interface {
	Plan(ctx context.Context, op Operation) (ChangePlan, error)
}

// ChangePlan is what an operation will change in one system. A SQL store lists, per table,
// the person's rows and what happens to each column; a manual store gives the instructions
// its task follows; a store that cannot plan says why in CannotPlan.
type ChangePlan struct {
	Store        string        `json:"store"`
	CannotPlan   string        `json:"cannot_plan,omitempty"`
	Instructions string        `json:"instructions,omitempty"`
	NotFound     bool          `json:"not_found,omitempty"`
	Tables       []TableChange `json:"tables,omitempty"`
	// Order is the order the tables are changed in, rows that point at others first, as
	// derived from the foreign keys in the store's own catalog.
	Order []string `json:"order,omitempty"`
	// Cycles are groups of tables whose foreign keys point at each other in a circle, so
	// that no order deletes them safely; they are changed in the data map's order.
	Cycles   [][]string  `json:"cycles,omitempty"`
	Retained []Retention `json:"retained,omitempty"`
}

// TableChange is what an operation does to the person's rows in one table.
type TableChange struct {
	Table   string `json:"table"`
	Matched int    `json:"matched"`
	// Rows are the rows matched, by primary key, with a digest of the values the plan
	// decided on, so that an apply can tell a row that changed since.
	Rows []PlannedRow `json:"rows,omitempty"`
	// Deleted and Updated count the rows deleted and the rows changed in place.
	Deleted int            `json:"deleted,omitempty"`
	Updated int            `json:"updated,omitempty"`
	Kept    int            `json:"kept,omitempty"`
	Columns []ColumnChange `json:"columns,omitempty"`
}

// PlannedRow is one matched row: its primary key and a digest of its values.
type PlannedRow struct {
	Key    string `json:"key"`
	Digest string `json:"digest"`
}

// ColumnChange is what happens to one column in how many rows.
type ColumnChange struct {
	Column string       `json:"column"`
	Action ColumnAction `json:"action"`
	Rows   int          `json:"rows"`
}

// ColumnAction is what a change does to a column's value.
type ColumnAction string

// The actions follow the data map's suppress strategies, plus set for a correction's or a
// restriction's new value.
const (
	ActionDelete ColumnAction = "delete"
	ActionNull   ColumnAction = "null"
	ActionMask   ColumnAction = "mask"
	ActionHash   ColumnAction = "hash"
	ActionSet    ColumnAction = "set"
)

// Changes counts the rows the plan deletes or changes, in every table.
func (p ChangePlan) Changes() int {
	n := 0
	for _, t := range p.Tables {
		n += t.Deleted + t.Updated
	}
	return n
}

// Deletes reports whether the plan deletes rows, when the order of its tables matters.
func (p ChangePlan) Deletes() bool {
	for _, t := range p.Tables {
		if t.Deleted > 0 {
			return true
		}
	}
	return false
}

// ErrPlanStale is what Apply returns, wrapped, when the person's rows no longer match the
// operation's plan: nothing was changed, and staff re-plan or retry.
var ErrPlanStale = errors.New("the rows changed since the plan")

// PlanDifference counts, for one table, the rows added, changed or gone since the plan.
// Redecided marks a table whose rows are as planned but whose fate is not: a retention
// period or legal hold that ended, or a data map that changed, in between.
type PlanDifference struct {
	Table     string `json:"table"`
	Added     int    `json:"added,omitempty"`
	Changed   int    `json:"changed,omitempty"`
	Gone      int    `json:"gone,omitempty"`
	Redecided bool   `json:"redecided,omitempty"`
}

// StalePlanError is the difference between a plan and the rows an apply found. Its
// message gives table names and counts only, never a value.
type StalePlanError struct {
	Store       string
	Differences []PlanDifference
}

func (e *StalePlanError) Error() string {
	var parts []string
	for _, d := range e.Differences {
		var counts []string
		for _, c := range []struct {
			n    int
			what string
		}{{d.Added, "added"}, {d.Changed, "changed"}, {d.Gone, "gone"}} {
			if c.n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", c.n, c.what))
			}
		}
		if d.Redecided {
			counts = append(counts, "what happens to them changed")
		}
		parts = append(parts, d.Table+": "+strings.Join(counts, ", "))
	}
	return fmt.Sprintf("the rows changed since the plan, nothing was changed (%s)", strings.Join(parts, "; "))
}

func (e *StalePlanError) Unwrap() error { return ErrPlanStale }

// Compare returns how the rows of now differ from the plan's, and where the same rows now
// meet another fate, table by table, or nil when they match.
func (p ChangePlan) Compare(now ChangePlan) []PlanDifference {
	planned := map[string]TableChange{}
	for _, t := range p.Tables {
		planned[t.Table] = t
	}
	var out []PlanDifference
	for _, t := range now.Tables {
		before := map[string]string{}
		for _, r := range planned[t.Table].Rows {
			before[r.Key] = r.Digest
		}
		d := PlanDifference{Table: t.Table}
		for _, r := range t.Rows {
			digest, ok := before[r.Key]
			switch {
			case !ok:
				d.Added++
			case digest != r.Digest:
				d.Changed++
			}
			delete(before, r.Key)
		}
		d.Gone = len(before)
		was := planned[t.Table]
		d.Redecided = d.Added+d.Changed+d.Gone == 0 &&
			(was.Deleted != t.Deleted || was.Updated != t.Updated || was.Kept != t.Kept || !slices.Equal(was.Columns, t.Columns))
		delete(planned, t.Table)
		if d.Added+d.Changed+d.Gone > 0 || d.Redecided {
			out = append(out, d)
		}
	}
	for _, t := range p.Tables {
		if _, missing := planned[t.Table]; missing && len(t.Rows) > 0 {
			out = append(out, PlanDifference{Table: t.Table, Gone: len(t.Rows)})
		}
	}
	return out
}
