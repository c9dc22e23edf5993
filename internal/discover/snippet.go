package discover

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// YAML writes the findings as a data map snippet to review and paste, each entry with a
// comment saying why it is there. It holds names and counts, never a sampled value.
func (r Report) YAML() ([]byte, error) {
	doc := mapping()
	doc.HeadComment = fmt.Sprintf(`Personal data the data map does not cover, found by "dsr datamap discover" in each
sql store's catalog and at most %d rows of each table. Review every entry before pasting
it into the data map: categories are guesses, every pii column needs a suppress strategy,
and a new table needs identity or reached_through. No sampled value is printed.`, r.SampleRows)
	stores := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range r.Stores {
		if len(s.Tables) == 0 {
			continue
		}
		tables := &yaml.Node{Kind: yaml.SequenceNode}
		for _, t := range s.Tables {
			tables.Content = append(tables.Content, r.tableNode(t))
		}
		store := mapping()
		add(store, "name", scalar(s.Store))
		add(store, "tables", tables)
		stores.Content = append(stores.Content, store)
	}
	if len(stores.Content) == 0 {
		stores.Style = yaml.FlowStyle
		stores.LineComment = "nothing found: every column that looks like personal data is in the map"
	}
	add(doc, "stores", stores)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("write snippet: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write snippet: %w", err)
	}
	return buf.Bytes(), nil
}

func (r Report) tableNode(t TableReport) *yaml.Node {
	n := mapping()
	name := scalar(t.Table)
	add(n, "table", name)
	switch {
	case t.Mapped:
		name.LineComment = "in the map: add these columns to its pii"
	case t.Link != nil && t.Link.Child:
		name.LineComment = fmt.Sprintf("not in the map; its %s refers to %s.%s, a mapped table", t.Link.Column, t.Link.RefTable, t.Link.RefColumn)
	case t.Link != nil:
		name.LineComment = fmt.Sprintf("not in the map; the mapped %s.%s refers to it", t.Link.Table, t.Link.Column)
	default:
		name.LineComment = "not in the map"
	}
	if !t.Mapped && t.PrimaryKey != "" {
		add(n, "primary_key", scalar(t.PrimaryKey))
	}
	if t.Link != nil && t.Link.Child {
		through := mapping()
		through.Style = yaml.FlowStyle
		add(through, "table", scalar(t.Link.RefTable))
		add(through, "key", scalar(t.Link.RefColumn))
		add(through, "column", scalar(t.Link.Column))
		add(n, "reached_through", through)
	}
	if len(t.Columns) == 0 {
		name.LineComment += "; no column looks like personal data by name or content: check it by hand"
		return n
	}
	pii := mapping()
	for _, f := range t.Columns {
		v := scalar(string(f.Category))
		v.LineComment = r.reason(f)
		add(pii, f.Column, v)
	}
	add(n, "pii", pii)
	return n
}

// reason says why a column was flagged, in counts and names only.
func (r Report) reason(f Finding) string {
	var why []string
	if f.ByName != None {
		why = append(why, "named like "+f.ByName.Describe())
	}
	if f.ByContent != None {
		why = append(why, fmt.Sprintf("%d of %d sampled values look like %s", f.Matched, f.Sampled, f.ByContent.Describe()))
	}
	if !slices.Contains(r.Categories, string(f.Category)) {
		why = append(why, "declare the category "+string(f.Category)+" first, or pick one the map has")
	}
	return strings.Join(why, "; ")
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func scalar(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: v}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		n.Style = yaml.DoubleQuotedStyle // a column named 2024 stays a string
	}
	return n
}

func add(m *yaml.Node, key string, value *yaml.Node) {
	m.Content = append(m.Content, scalar(key), value)
}
