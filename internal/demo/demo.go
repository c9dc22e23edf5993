// Package demo is the "company customer database" that `dsr dev` ships: a separate database
// standing in for one of the company's internal systems, seeded with demo people, and a
// hand-written connector that runs privacy requests against it with real SQL. It serves
// until stores are described in a data map with generic SQL connectors.
package demo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/connector"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
)

// StoreName names this store in every Result.
const StoreName = "demo-customers"

// schema is plain SQL that PostgreSQL and SQLite both accept. IDs are given explicitly by
// Seed, which avoids the engines' different auto-increment syntax. TIMESTAMP (not
// TIMESTAMPTZ) is the type SQLite's driver reads back as time.Time; every time written is UTC.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY,
		email TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
		name TEXT, postal_address TEXT, postal_code TEXT, phone TEXT, title TEXT, occupation TEXT, company TEXT, username TEXT,
		marketing_email_opt_in BOOLEAN NOT NULL DEFAULT FALSE, share_with_affiliates BOOLEAN NOT NULL DEFAULT FALSE,
		processing_restricted BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMP NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS orders (order_number TEXT PRIMARY KEY, customer_email TEXT NOT NULL,
		ordered_at TIMESTAMP NOT NULL, total_cents BIGINT NOT NULL, card_last4 TEXT)`,
	`CREATE INDEX IF NOT EXISTS orders_customer_email ON orders (customer_email)`,
	`CREATE TABLE IF NOT EXISTS web_logs (id INTEGER PRIMARY KEY, customer_email TEXT NOT NULL,
		ip TEXT NOT NULL, path TEXT NOT NULL, at TIMESTAMP NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS web_logs_customer_email ON web_logs (customer_email)`,
	`CREATE TABLE IF NOT EXISTS suppression_list (email_hash TEXT PRIMARY KEY, suppressed_at TIMESTAMP NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS applied_operations (request_id TEXT NOT NULL, operation TEXT NOT NULL,
		result TEXT NOT NULL, applied_at TIMESTAMP NOT NULL, PRIMARY KEY (request_id, operation))`,
}

// Store is the demo customer database.
type Store struct {
	db *database.DB
}

// Open connects to the demo database at url ("sqlite:PATH" or "postgres://…") and creates
// its tables if they are missing.
func Open(ctx context.Context, url string) (*Store, error) {
	db, err := database.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("demo store: %w", err)
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Several workers may open the store at once; PostgreSQL's IF NOT EXISTS does not
		// guard concurrent creation, so they take turns. SQLite's writers already do.
		if db.Kind == config.Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7326158)").Error; err != nil {
				return err
			}
		}
		for _, stmt := range schema {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("demo store: create schema: %w", err)
	}
	return &Store{db: db}, nil
}

// Close releases the connection pool.
func (s *Store) Close() { s.db.Close() }

// Result is what one operation did in this store. It is stored as JSON and every call
// returns the decoded JSON, so that a first run and a retry return identical values; Export
// therefore holds JSON values (map[string]any, []any, float64, string, bool).
type Result = connector.Result

// Retention is a record kept despite a suppression, with its legal ground and end date.
type Retention = connector.Retention

// operation is the body of one request's change, run inside the request's transaction.
type operation func(tx *gorm.DB, email string, now time.Time) (Result, error)

// apply runs op once per (requestID, name): in one transaction it returns the stored Result
// if the operation was applied before, else applies it and stores its Result. Two racing
// runs cannot both commit, because the second insert of the key fails and rolls back.
func (s *Store) apply(ctx context.Context, requestID string, name domain.RequestType, email string, op operation) (Result, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if requestID == "" || email == "" {
		return Result{}, fmt.Errorf("demo store %s: request ID and e-mail address are required: %w", name, domain.ErrInvalid)
	}
	var out Result
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var stored string
		err := tx.Raw(`SELECT result FROM applied_operations WHERE request_id = ? AND operation = ?`, requestID, string(name)).Row().Scan(&stored)
		if err == nil {
			return json.Unmarshal([]byte(stored), &out)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := time.Now().UTC().Truncate(time.Second)
		r, err := op(tx, email, now)
		if err != nil {
			return err
		}
		r.Store = StoreName
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO applied_operations (request_id, operation, result, applied_at) VALUES (?, ?, ?, ?)`,
			requestID, string(name), string(b), now).Error; err != nil {
			return err
		}
		return json.Unmarshal(b, &out)
	})
	if err != nil {
		return Result{}, fmt.Errorf("demo store %s: %w", name, err)
	}
	return out, nil
}
