package sqlstore

import "strings"

// suggestion is " (did you mean `name`?)" for the candidate nearest to name, or "" when
// none is near enough to be a likely typo: within a third of the name's length, at least
// two edits.
func suggestion(name string, candidates []string, fold bool) string {
	norm := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	best, bestDistance := "", max(2, len(name)/3)+1
	for _, c := range candidates {
		if d := editDistance(norm(name), norm(c)); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean `" + best + "`?)"
}

// editDistance counts the insertions, deletions, substitutions and swaps of neighbouring
// bytes that turn a into b (optimal string alignment); names are ASCII identifiers.
func editDistance(a, b string) int {
	// Three rows of the table: two back, one back and the current one.
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
