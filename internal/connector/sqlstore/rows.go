package sqlstore

// matchedRow is one of the person's rows together with what the running operation decided
// for it, so that a row's decisions travel with it instead of sitting in slices indexed
// like the holding.
type matchedRow struct {
	values record
	// kept is why the row must be kept, or nil (see keep).
	kept *reason
	// act is what a suppression does to the row (see decide).
	act action
}

// matchedRows returns the rows of h, by table in plan order like h, with nothing decided.
func matchedRows(h holding) [][]*matchedRow {
	out := make([][]*matchedRow, len(h))
	for i, list := range h {
		out[i] = make([]*matchedRow, len(list))
		for j, v := range list {
			out[i][j] = &matchedRow{values: v}
		}
	}
	return out
}
