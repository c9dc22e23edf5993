package requestdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/connector"
)

// Task statuses.
const (
	TaskOpen = "open"
	TaskDone = "done"
)

// Task is work for the privacy team in a system dsr cannot reach itself.
type Task struct {
	ID           string     `json:"id" gorm:"primaryKey"`
	RequestID    string     `json:"request_id"`
	Store        string     `json:"store"`
	Operation    string     `json:"operation"`
	Instructions string     `json:"instructions"`
	Status       string     `json:"status"`
	DueAt        time.Time  `json:"due_at"`
	CreatedAt    time.Time  `json:"created_at"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
	CompletedBy  string     `json:"completed_by,omitempty"`
	Note         string     `json:"note,omitempty"`
	Result       string     `json:"-"`
}

func (Task) TableName() string { return "tasks" }

// TaskID names the one task of a request in a store.
func TaskID(requestID, store string) string { return requestID + ":" + store }

// CreateTask opens the task unless it exists, so a retried activity opens it once.
func (r *Repo) CreateTask(ctx context.Context, t Task) error {
	t.ID, t.Status = TaskID(t.RequestID, t.Store), TaskOpen
	t.CreatedAt, t.DueAt = utc(time.Now()), utc(t.DueAt)
	err := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&t).Error
	if err != nil {
		return fmt.Errorf("open task for request %s: %w", t.RequestID, err)
	}
	return nil
}

// Tasks lists tasks with the status (all when empty), oldest due first.
func (r *Repo) Tasks(ctx context.Context, status string, limit int) ([]Task, error) {
	q := r.db.WithContext(ctx).Order("due_at, id").Limit(min(max(limit, 1), 500))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []Task
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return out, nil
}

// GetTask returns a task, or ErrNotFound.
func (r *Repo) GetTask(ctx context.Context, id string) (*Task, error) {
	var t Task
	err := r.db.WithContext(ctx).Take(&t, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("task %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", id, err)
	}
	return &t, nil
}

// CompleteTask records a staff member's result. Completing a task twice is ErrConflict, so
// two people cannot both answer for one system.
func (r *Repo) CompleteTask(ctx context.Context, id string, result connector.Result, note, by string) (*Task, error) {
	raw, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	now := utc(time.Now())
	res := r.db.WithContext(ctx).Model(&Task{}).Where("id = ? AND status = ?", id, TaskOpen).Updates(map[string]any{
		"status": TaskDone, "completed_at": now, "completed_by": by, "note": note, "result": string(raw),
	})
	if res.Error != nil {
		return nil, fmt.Errorf("complete task %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := r.GetTask(ctx, id); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("task %s is already done: %w", id, ErrConflict)
	}
	return r.GetTask(ctx, id)
}

// TasksOf lists the tasks of one request, by store.
func (r *Repo) TasksOf(ctx context.Context, requestID string) ([]Task, error) {
	var out []Task
	if err := r.db.WithContext(ctx).Where("request_id = ?", requestID).Order("store").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("tasks of request %s: %w", requestID, err)
	}
	return out, nil
}
