package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
)

// identityChecker checks identities in a store that declares identity data points; a
// type of its own so that a store declaring none offers no checker (see Capabilities).
type identityChecker struct{ *Connector }

// MatchDataPoints returns how many answers match a data point the store holds for email.
// Answers are keyed by the data point's name and compare without case, spaces or dashes;
// unknown names and blank answers match nothing.
func (c identityChecker) MatchDataPoints(ctx context.Context, email string, answers map[string]string) (int, error) {
	email, err := domain.NormalizeEmail(email)
	if err != nil {
		return 0, nil // no address, no records to match
	}
	h, err := c.load(ctx, c.db, email, false, c.plan.identityTables)
	if err != nil {
		return 0, fmt.Errorf("store %s: match data points: %w", c.store.Name, err)
	}
	matched := 0
	for name, answer := range answers {
		a := normaliseAnswer(answer)
		if a != "" && c.matches(h, name, a) {
			matched++
		}
	}
	return matched, nil
}

func (c identityChecker) matches(h holding, name, answer string) bool {
	for _, d := range c.store.DataPoints {
		if d.Name != name {
			continue
		}
		i := c.plan.index(d.Table)
		t := &c.plan.tables[i]
		for _, row := range h[i] {
			v := text(row[t.pos[d.Column]])
			if d.Match == datamap.MatchLast4 {
				v = lastFour(v)
			}
			if v != "" && normaliseAnswer(v) == answer {
				return true
			}
		}
	}
	return false
}

var separators = strings.NewReplacer(" ", "", "-", "")

// normaliseAnswer makes answers compare equal however they were typed: "bs1-4dj" matches
// "BS1 4DJ".
func normaliseAnswer(s string) string {
	return separators.Replace(strings.ToLower(strings.TrimSpace(s)))
}

// lastFour returns the last four digits of a number, or "" if it has fewer.
func lastFour(s string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	if len(digits) < 4 {
		return ""
	}
	return digits[len(digits)-4:]
}
