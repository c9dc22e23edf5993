package demo_test

import (
	"testing"

	"github.com/dsr-project/dsr/internal/demo"
)

// The requester reads labels, never internal names: every category, store, table and
// column of the demo company is named in English and Norwegian Bokmål.
func TestTheDemoMapNamesEverythingInEnglishAndNorwegian(t *testing.T) {
	m, err := demo.DataMap()
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, label map[string]string) {
		t.Helper()
		if label["en"] == "" || label["nb"] == "" {
			t.Errorf("%s has label %v, want en and nb", what, label)
		}
	}
	for _, c := range m.Categories {
		check("category "+c.Name, m.CategoryDisplay(c.Name).Label)
	}
	for _, s := range m.Stores {
		check("store "+s.Name, s.Label)
		for _, tb := range s.Tables {
			check("table "+tb.Name, tb.Label)
			cols := tb.Review.Columns
			for _, c := range tb.PII {
				cols = append(cols, c.Name)
			}
			for _, c := range cols {
				check("column "+tb.Name+"."+c, tb.DisplayOf(c).Label)
			}
		}
	}
}
