package requests

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
)

// vocabulary finds how the data maps name what the stores report: categories, tables and
// columns by their labels. A store no map describes, or a name no map labels, reads as a
// readable form of its name.
type vocabulary struct {
	maps []*datamap.Map
	// categories are every category the maps define, in display order: the defaults, then
	// each map's own; a name two maps define keeps the first one's.
	categories domain.Categories
	// order is the categories' names.
	order []string
}

func newVocabulary(maps []*datamap.Map) vocabulary {
	v := vocabulary{maps: maps}
	cats := domain.DefaultCategories()
	for _, m := range maps {
		cats = append(cats, m.Categories...)
	}
	for _, c := range cats {
		if !slices.Contains(v.order, c.Name) {
			v.order = append(v.order, c.Name)
			v.categories = append(v.categories, c)
		}
	}
	return v
}

func (v vocabulary) rank(name string) int {
	if i := slices.Index(v.order, name); i >= 0 {
		return i
	}
	return len(v.order)
}

// sorted returns the names once each in category order; those of no known category come
// after, in the order given.
func (v vocabulary) sorted(names []string) []string {
	var out []string
	for _, n := range names {
		out = appendOnce(out, n)
	}
	slices.SortStableFunc(out, func(a, b string) int { return v.rank(a) - v.rank(b) })
	return out
}

func (v vocabulary) category(name string) datamap.Labelled {
	for _, m := range v.maps {
		if l := m.CategoryDisplay(name); l.Label != nil || l.Description != nil {
			return l
		}
	}
	return datamap.Labelled{}
}

// categoryLabel names a category in loc's language: by a data map's label, else by the
// catalogue's word for one of the default categories, else by a readable form of its name.
func (v vocabulary) categoryLabel(name string, loc *i18n.Localizer) string {
	if l := v.category(name).Label.In(loc.Code()); l != "" {
		return l
	}
	if word, err := loc.Translate("category_" + name); err == nil && word != "" {
		return strings.ToUpper(word[:1]) + word[1:]
	}
	return datamap.Readable(name)
}

// outcome names what the stores found and changed, each once in category order; a
// restriction a restrict request set, or lifted, reads as the catalogue says it was.
func (v vocabulary) outcome(loc *i18n.Localizer, found, changed []string) (foundLabels, changedLabels []string) {
	for _, c := range v.sorted(found) {
		foundLabels = appendOnce(foundLabels, v.categoryLabel(c, loc))
	}
	for _, c := range v.sorted(changed) {
		if l, lifted, ok := domain.ChangedLimit(c); ok && lifted {
			changedLabels = appendOnce(changedLabels, loc.T("report_lifted_"+string(l)))
		} else if ok {
			changedLabels = appendOnce(changedLabels, loc.T("report_limit_"+string(l)))
		} else {
			changedLabels = appendOnce(changedLabels, v.categoryLabel(c, loc))
		}
	}
	return foundLabels, changedLabels
}

func (v vocabulary) store(name string) (datamap.Store, bool) {
	for _, m := range v.maps {
		if s, ok := m.Store(name); ok {
			return s, true
		}
	}
	return datamap.Store{}, false
}

// valueWriter writes what the stores report in one reader's language, with the
// catalogue's words and dates.
type valueWriter struct {
	loc   *i18n.Localizer
	vocab vocabulary
	// portable writes dates as ISO 8601, for other programs to read.
	portable bool
}

func (s *Service) writer(lang string, portable bool) valueWriter {
	return valueWriter{loc: i18n.Default().ForCode(lang), vocab: s.vocab, portable: portable}
}

// lang is the writer's language, such as "nb", which picks the data maps' labels.
func (w valueWriter) lang() string { return w.loc.Code() }

// categories lists each kind of data the stores found once, with the records exported of
// it: a table's records go under its main category.
func (w valueWriter) categories(results []connector.Result) []ReportCategory {
	var found []string
	records := map[string][]RecordTable{}
	for _, r := range results {
		found = append(found, r.Found...)
		store, known := w.vocab.store(r.Store)
		for _, name := range exportOrder(store, r.Export) {
			var cat string
			var rt RecordTable
			if t, ok := store.Table(name); known && ok {
				cat, rt = t.MainCategory(w.vocab.order), w.table(t, r.Export[name])
			} else {
				cat, rt = w.vocab.mostSpecific(r.Found), w.table(datamap.Table{Name: name}, r.Export[name])
			}
			found = append(found, cat)
			records[cat] = appendTable(records[cat], rt)
		}
	}
	out := []ReportCategory{}
	for _, c := range w.vocab.sorted(found) {
		if c == "" {
			continue
		}
		out = append(out, ReportCategory{Label: w.vocab.categoryLabel(c, w.loc), Description: w.vocab.category(c).DescriptionIn(w.lang()), Records: records[c]})
	}
	if rs := records[""]; len(rs) > 0 {
		out = append(out, ReportCategory{Label: w.loc.T("report_other_records"), Records: rs})
	}
	return out
}

// appendTable adds a table's rows to one of the same label and columns (two stores may
// hold the same kind of record), or adds the table. Equal rows stay: they are records.
func appendTable(list []RecordTable, t RecordTable) []RecordTable {
	for i, x := range list {
		if x.Label == t.Label && slices.Equal(x.Columns, t.Columns) {
			list[i].Rows = append(list[i].Rows, t.Rows...)
			return list
		}
	}
	return append(list, t)
}

// mostSpecific is the category of a store's findings that its records are most likely
// of: the one declared last.
func (v vocabulary) mostSpecific(found []string) string {
	best := ""
	for _, c := range found {
		if best == "" || v.rank(c) >= v.rank(best) {
			best = c
		}
	}
	return best
}

// exportOrder lists an export's entries: the store's tables in the map's order, then any
// others by name.
func exportOrder(s datamap.Store, export map[string]any) []string {
	var out []string
	for _, t := range s.Tables {
		if _, ok := export[t.Name]; ok {
			out = append(out, t.Name)
		}
	}
	var rest []string
	for name := range export {
		if !slices.Contains(out, name) {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// table lays an export entry out as a table: its columns in the map's order (pii, then
// review columns), then any others by name, each named by its label.
func (w valueWriter) table(t datamap.Table, v any) RecordTable {
	rt := RecordTable{Label: t.LabelIn(w.lang(), t.Name), Description: t.DescriptionIn(w.lang()), Rows: [][]string{}}
	records, isList := v.([]any)
	if !isList {
		records = []any{v}
	}
	var cols []string
	for _, c := range t.PII {
		cols = append(cols, c.Name)
	}
	cols = append(cols, t.Review.Columns...)
	present, other := map[string]bool{}, []string{}
	for _, r := range records {
		rec, ok := r.(map[string]any)
		if !ok {
			continue
		}
		for k := range rec {
			present[k] = true
			if !slices.Contains(cols, k) && !slices.Contains(other, k) {
				other = append(other, k)
			}
		}
	}
	sort.Strings(other)
	var shown []string
	for _, c := range append(cols, other...) {
		if present[c] {
			shown = append(shown, c)
			rt.Columns = append(rt.Columns, t.DisplayOf(c).LabelIn(w.lang(), c))
		}
	}
	for _, r := range records {
		rec, ok := r.(map[string]any)
		if !ok {
			// A value that is no record is shown as one, under the entry's own label.
			if len(shown) == 0 && len(rt.Columns) == 0 {
				rt.Columns = []string{rt.Label}
			}
			rt.Rows = append(rt.Rows, []string{w.value(datamap.ColumnDisplay{}, r)})
			continue
		}
		row := make([]string, len(shown))
		for i, c := range shown {
			row[i] = w.value(t.DisplayOf(c), rec[c])
		}
		rt.Rows = append(rt.Rows, row)
	}
	return rt
}

// value writes one value as its column's format says: money in its currency, Yes or No,
// dates in words. Without a format, true and false still read Yes and No and timestamps
// read as dates.
func (w valueWriter) value(d datamap.ColumnDisplay, v any) string {
	switch d.Format {
	case datamap.FormatMoneyCents:
		if f, ok := number(v); ok {
			return money(w.lang(), d.Currency, f/100)
		}
	case datamap.FormatBoolean:
		if b, ok := boolean(v); ok {
			return w.yesNo(b)
		}
	case datamap.FormatDate, datamap.FormatDateTime:
		if t, ok := connector.ParseTime(v); ok {
			return w.date(t, d.Format == datamap.FormatDateTime)
		}
	}
	return w.plain(v)
}

func (w valueWriter) plain(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return w.yesNo(x)
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return w.date(t, !t.Equal(t.Truncate(24*time.Hour)))
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = w.plain(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = datamap.Readable(k) + ": " + w.plain(x[k])
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

func (w valueWriter) yesNo(b bool) string {
	if b {
		return w.loc.T("report_yes")
	}
	return w.loc.T("report_no")
}

func (w valueWriter) date(t time.Time, withTime bool) string {
	switch {
	case w.portable && withTime:
		return t.UTC().Format(time.RFC3339)
	case w.portable:
		return t.UTC().Format(time.DateOnly)
	}
	if withTime {
		return w.loc.DateTime(t)
	}
	return w.loc.Date(t)
}

func (w valueWriter) dateOrNothing(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return w.date(t, false)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// boolean reads a flag as the stores return it: a bool, 0 or 1, or text.
func boolean(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case float64:
		return x != 0, x == 0 || x == 1
	case int64:
		return x != 0, x == 0 || x == 1
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "t", "true", "y", "yes":
			return true, true
		case "0", "f", "false", "n", "no":
			return false, true
		}
	}
	return false, false
}

// money writes an amount in its currency as the reader's language does, with a one-letter
// symbol next to the number ("£9.99").
func money(lang, code string, amount float64) string {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return code + " " + message.NewPrinter(language.English).Sprintf("%.2f", amount)
	}
	tag, err := language.Parse(lang)
	if err != nil {
		tag = language.English
	}
	s := message.NewPrinter(tag).Sprint(currency.NarrowSymbol(unit.Amount(amount)))
	if sym, num, ok := strings.Cut(s, " "); ok && len([]rune(sym)) == 1 {
		return sym + num
	}
	return s
}
