package tlog

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/domain"
)

// entryRow is a stored entry.
type entryRow struct {
	Idx         int64 `gorm:"primaryKey;autoIncrement:false"`
	RequestHash string
	Milestone   string
	At          time.Time
	DueAt       time.Time
	RequestType string
	LeafHash    string
}

func (entryRow) TableName() string { return "tlog_entries" }

func (r entryRow) entry() Entry {
	return Entry{Index: uint64(r.Idx), RequestHash: r.RequestHash, Milestone: Milestone(r.Milestone),
		At: r.At.UTC(), DueAt: r.DueAt.UTC(), RequestType: domain.RequestType(r.RequestType)}
}

// head is the one row that holds the tree size.
type head struct {
	ID   int `gorm:"primaryKey"`
	Size int64
}

func (head) TableName() string { return "tlog_head" }

// appendEntry stores e as the next leaf unless the request already has its milestone, and
// reports whether it stored it. Locking the head row makes concurrent appends take turns on
// PostgreSQL; SQLite admits one writer at a time.
func appendEntry(tx *gorm.DB, kind config.DatabaseKind, e Entry) (bool, error) {
	leafHash, err := e.LeafHash()
	if err != nil {
		return false, err
	}
	var exists int64
	if err := tx.Model(&entryRow{}).Where("request_hash = ? AND milestone = ?", e.RequestHash, e.Milestone).
		Count(&exists).Error; err != nil {
		return false, fmt.Errorf("look up log entry: %w", err)
	}
	if exists > 0 {
		return false, nil
	}
	q := tx.Model(&head{}).Where("id = 1")
	if kind == config.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var h head
	if err := q.Take(&h).Error; err != nil {
		return false, fmt.Errorf("lock log head: %w", err)
	}
	row := entryRow{Idx: h.Size, RequestHash: e.RequestHash, Milestone: string(e.Milestone),
		At: e.At, DueAt: e.DueAt, RequestType: string(e.RequestType), LeafHash: hex.EncodeToString(leafHash)}
	// A concurrent append of the same milestone that won the lock stored it first; the
	// unique key then refuses this one, and the transaction fails to be retried.
	if err := tx.Create(&row).Error; err != nil {
		return false, fmt.Errorf("insert log entry: %w", err)
	}
	if err := tx.Model(&head{}).Where("id = 1").Update("size", h.Size+1).Error; err != nil {
		return false, fmt.Errorf("advance log head: %w", err)
	}
	return true, nil
}

// size returns the tree size.
func size(ctx context.Context, db *gorm.DB) (uint64, error) {
	var h head
	if err := db.WithContext(ctx).Take(&h, "id = 1").Error; err != nil {
		return 0, fmt.Errorf("log size: %w", err)
	}
	return uint64(h.Size), nil
}

// leafHashes returns the leaf hashes of entries [begin, end).
func leafHashes(ctx context.Context, db *gorm.DB, begin, end uint64) ([][]byte, error) {
	var hexes []string
	err := db.WithContext(ctx).Model(&entryRow{}).Where("idx >= ? AND idx < ?", begin, end).
		Order("idx").Pluck("leaf_hash", &hexes).Error
	if err != nil {
		return nil, fmt.Errorf("log leaf hashes: %w", err)
	}
	if uint64(len(hexes)) != end-begin {
		return nil, fmt.Errorf("log leaf hashes [%d, %d): %d stored", begin, end, len(hexes))
	}
	out := make([][]byte, len(hexes))
	for i, s := range hexes {
		if out[i], err = hex.DecodeString(s); err != nil {
			return nil, fmt.Errorf("log leaf hash %d: %w", begin+uint64(i), err)
		}
	}
	return out, nil
}

// entries returns the entries [begin, end).
func entries(ctx context.Context, db *gorm.DB, begin, end uint64) ([]Entry, error) {
	var rows []entryRow
	if err := db.WithContext(ctx).Where("idx >= ? AND idx < ?", begin, end).Order("idx").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("log entries: %w", err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, nil
}

// requestEntry returns the request's entry of milestone m below size, or its last entry
// when m is empty; ErrNotFound when there is none.
func requestEntry(ctx context.Context, db *gorm.DB, requestHash string, m Milestone, size uint64) (Entry, error) {
	q := db.WithContext(ctx).Where("request_hash = ? AND idx < ?", requestHash, size)
	if m != "" {
		q = q.Where("milestone = ?", string(m))
	}
	var rows []entryRow
	if err := q.Order("idx DESC").Limit(1).Find(&rows).Error; err != nil {
		return Entry{}, fmt.Errorf("request's log entry: %w", err)
	}
	if len(rows) == 0 {
		return Entry{}, fmt.Errorf("request's log entry: %w", ErrNotFound)
	}
	return rows[0].entry(), nil
}

// requestEntries returns the request's entries below size, in log order.
func requestEntries(ctx context.Context, db *gorm.DB, requestHash string, size uint64) ([]Entry, error) {
	var rows []entryRow
	err := db.WithContext(ctx).Where("request_hash = ? AND idx < ?", requestHash, size).Order("idx").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("request's log entries: %w", err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, nil
}

// cosignatureRow is a witness's cosignature of the checkpoint of a tree size.
type cosignatureRow struct {
	TreeSize  int64  `gorm:"primaryKey;autoIncrement:false"`
	Witness   string `gorm:"primaryKey"`
	Signature string
	CreatedAt time.Time
}

func (cosignatureRow) TableName() string { return "tlog_cosignatures" }

// saveCosignature stores a witness's signature line for the tree size, replacing an older
// one of the same witness and size.
func saveCosignature(ctx context.Context, db *gorm.DB, size uint64, witness, line string) error {
	row := cosignatureRow{TreeSize: int64(size), Witness: witness, Signature: line, CreatedAt: time.Now().UTC()}
	err := db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "tree_size"}, {Name: "witness"}},
		DoUpdates: clause.AssignmentColumns([]string{"signature", "created_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store cosignature: %w", err)
	}
	return nil
}

// cosignatures returns the signature lines stored for the tree size by each of witnesses.
func cosignatures(ctx context.Context, db *gorm.DB, size uint64, witnesses []string) (map[string]string, error) {
	var rows []cosignatureRow
	err := db.WithContext(ctx).Where("tree_size = ? AND witness IN ?", size, witnesses).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("cosignatures: %w", err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Witness] = r.Signature
	}
	return out, nil
}

// latestCosignedSize returns the largest tree size one of witnesses cosigned, and false
// when none has.
func latestCosignedSize(ctx context.Context, db *gorm.DB, witnesses []string) (uint64, bool, error) {
	var latest *int64
	err := db.WithContext(ctx).Model(&cosignatureRow{}).Where("witness IN ?", witnesses).
		Select("MAX(tree_size)").Scan(&latest).Error
	if err != nil {
		return 0, false, fmt.Errorf("latest cosigned checkpoint: %w", err)
	}
	if latest == nil {
		return 0, false, nil
	}
	return uint64(*latest), true, nil
}
