package requests

import (
	"slices"
	"testing"

	"github.com/dsr-project/dsr/internal/datamap"
)

func TestValuesReadAsTheirColumnsFormatSays(t *testing.T) {
	w := New(Options{}).writer("en", false)
	portable := New(Options{}).writer("en", true)
	money := datamap.ColumnDisplay{Format: datamap.FormatMoneyCents, Currency: "GBP"}
	flag := datamap.ColumnDisplay{Format: datamap.FormatBoolean}
	date := datamap.ColumnDisplay{Format: datamap.FormatDate}
	at := datamap.ColumnDisplay{Format: datamap.FormatDateTime}
	cases := []struct {
		name string
		w    valueWriter
		d    datamap.ColumnDisplay
		v    any
		want string
	}{
		{"pence as pounds", w, money, 999.0, "£9.99"},
		{"thousands", w, money, 123456.0, "£1,234.56"},
		{"euros", w, datamap.ColumnDisplay{Format: datamap.FormatMoneyCents, Currency: "EUR"}, 500.0, "€5.00"},
		{"a SQLite flag", w, flag, 1.0, "Yes"},
		{"a text flag", w, flag, "f", "No"},
		{"a flag that is no flag", w, flag, 7.0, "7"},
		{"a date", w, date, "2018-09-19T10:11:12Z", "19 September 2018"},
		{"a SQLite date", w, date, "2018-09-19 10:11:12", "19 September 2018"},
		{"a date and time", w, at, "2018-09-19T10:11:12Z", "19 September 2018, 10:11 UTC"},
		{"a timestamp without a format", w, datamap.ColumnDisplay{}, "2018-09-19T00:00:00Z", "19 September 2018"},
		{"true without a format", w, datamap.ColumnDisplay{}, true, "Yes"},
		{"a number without a format", w, datamap.ColumnDisplay{}, 2.0, "2"},
		{"nothing", w, money, nil, ""},
		{"a portable date", portable, date, "2018-09-19T10:11:12Z", "2018-09-19"},
		{"a portable date and time", portable, at, "2018-09-19T10:11:12Z", "2018-09-19T10:11:12Z"},
	}
	for _, c := range cases {
		if got := c.w.value(c.d, c.v); got != c.want {
			t.Errorf("%s: %v reads %q, want %q", c.name, c.v, got, c.want)
		}
	}
}

func TestNorwegianValuesAndDatesReadAsTheCatalogueSays(t *testing.T) {
	w := New(Options{}).writer("nb", false)
	for _, c := range []struct {
		d    datamap.ColumnDisplay
		v    any
		want string
	}{
		{datamap.ColumnDisplay{Format: datamap.FormatDate}, "2018-09-19T10:11:12Z", "19. september 2018"},
		{datamap.ColumnDisplay{Format: datamap.FormatDateTime}, "2018-09-19T10:11:12Z", "19. september 2018 kl. 10:11 UTC"},
		{datamap.ColumnDisplay{Format: datamap.FormatBoolean}, 1.0, "Ja"},
		{datamap.ColumnDisplay{}, false, "Nei"},
	} {
		if got := w.value(c.d, c.v); got != c.want {
			t.Errorf("%v reads %q, want %q", c.v, got, c.want)
		}
	}
}

// Without a data map the default categories read as the catalogue names them, and a
// restriction reads as what was stopped.
func TestOutcomeLabelsSpeakTheLanguageAsked(t *testing.T) {
	found, changed := NewOutcomeLabels(nil).Outcome("nb", []string{"postal_address", "name", "postal_address", "loyalty_points"},
		[]string{"marketing_email", "phone"})
	if want := []string{"Navn", "Postadresse", "Loyalty points"}; !slices.Equal(found, want) {
		t.Errorf("found = %q, want %q", found, want)
	}
	if want := []string{"Telefonnummer", "Markedsføring på e-post er stoppet"}; !slices.Equal(changed, want) {
		t.Errorf("changed = %q, want %q", changed, want)
	}
}

// A lifted restriction reads as what is allowed again, never as what was stopped.
func TestALiftedLimitReadsAsAllowedAgain(t *testing.T) {
	for lang, want := range map[string]string{"en": "Sharing with our affiliated companies allowed again",
		"nb": "Deling med selskapene vi samarbeider med, er tillatt igjen"} {
		_, changed := NewOutcomeLabels(nil).Outcome(lang, nil, []string{"lifted:affiliate_sharing"})
		if !slices.Equal(changed, []string{want}) {
			t.Errorf("%s: changed = %q, want %q", lang, changed, want)
		}
	}
}

func TestCSVCellsCannotRunAsFormulas(t *testing.T) {
	got := safeCells([]string{"=1+1", "+1", "-2", "@SUM(A1)", "\tx", "plain", "", "a=b"})
	want := []string{"'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "plain", "", "a=b"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cell %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestFileNamesComeFromLabelsOnce(t *testing.T) {
	taken := map[string]bool{}
	for _, c := range []struct{ label, want string }{
		{"Your orders", "your-orders.csv"}, {"Your orders", "your-orders-2.csv"},
		{"Bestillingene dine", "bestillingene-dine.csv"}, {"***", "records.csv"}, {"Ølbrygging", "ølbrygging.csv"},
	} {
		if got := fileName(c.label, taken); got != c.want {
			t.Errorf("%q names %q, want %q", c.label, got, c.want)
		}
	}
}
