package discover

import (
	"context"
	"fmt"

	"github.com/dsr-project/dsr/internal/datamap"
)

// Scanner scans the sql stores of several data maps, as the command line and the admins'
// page both do.
type Scanner struct {
	Maps    []*datamap.Map
	Options Options
}

// MapReport is one data map's findings, named by the file it was read from.
type MapReport struct {
	File string
	Report
}

// Scan scans every map in order; it stops at the first store it cannot read, naming it.
func (s Scanner) Scan(ctx context.Context) ([]MapReport, error) {
	out := make([]MapReport, 0, len(s.Maps))
	for _, m := range s.Maps {
		r, err := Map(ctx, m, s.Options)
		if err != nil {
			return nil, fmt.Errorf("discover in %s: %w", m.File, err)
		}
		out = append(out, MapReport{File: m.File, Report: r})
	}
	return out, nil
}

// Empty says no store of any map holds personal data its map leaves out.
func Empty(reports []MapReport) bool {
	for _, r := range reports {
		for _, s := range r.Stores {
			if len(s.Tables) > 0 {
				return false
			}
		}
	}
	return true
}
