package discover

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dsr-project/dsr/internal/datamap"
)

// examine flags the columns of t the map does not cover that look like personal data,
// by name, or by the content of at most limit rows.
func examine(ctx context.Context, tx *sql.Tx, d datamap.Driver, t table, covered map[string]bool, limit int) ([]Finding, error) {
	var candidates []column
	for _, c := range t.columns {
		if !covered[strings.ToLower(c.name)] {
			candidates = append(candidates, c)
		}
	}
	tallies, err := sample(ctx, tx, d, t.name, candidates, limit)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, c := range candidates {
		f := Finding{Column: c.name, ByName: byName(c.name)}
		if tl, ok := tallies[c.name]; ok {
			v := tl.verdict()
			f.ByContent, f.Matched, f.Sampled = v.kind, v.matched, v.sampled
		}
		// Content is the stronger evidence: it says what the column holds today.
		f.Category = f.ByContent
		if f.Category == None {
			f.Category = f.ByName
		}
		if f.Category != None {
			out = append(out, f)
		}
	}
	return out, nil
}

// sample reads at most limit rows of the text columns and tallies their values' kinds.
// The values are dropped as soon as they are counted.
func sample(ctx context.Context, tx *sql.Tx, d datamap.Driver, tbl string, columns []column, limit int) (map[string]*tally, error) {
	var names []string
	for _, c := range columns {
		if c.text {
			names = append(names, quote(d, c.name))
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	query := fmt.Sprintf("SELECT %s FROM %s LIMIT %d", strings.Join(names, ", "), quote(d, tbl), limit)
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sample rows: %w", err)
	}
	defer rows.Close()
	values := make([]sql.NullString, len(names))
	dest := make([]any, len(names))
	for i := range values {
		dest[i] = &values[i]
	}
	tallies := map[string]*tally{}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("sample rows: %w", err)
		}
		i := 0
		for _, c := range columns {
			if !c.text {
				continue
			}
			if tallies[c.name] == nil {
				tallies[c.name] = &tally{}
			}
			if values[i].Valid {
				tallies[c.name].add(values[i].String)
			}
			i++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sample rows: %w", err)
	}
	return tallies, nil
}

// quote quotes an identifier the catalog returned.
func quote(d datamap.Driver, name string) string {
	if d == datamap.MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
