package i18n_test

import (
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/text/language"

	"github.com/dsr-project/dsr/internal/i18n"
)

func TestEveryMessageExistsInEveryBuiltInLanguage(t *testing.T) {
	c := i18n.Default()
	en := c.MessageIDs(language.English)
	if len(en) < 100 {
		t.Fatalf("English has %d messages, want the whole catalogue", len(en))
	}
	for _, tag := range c.Languages() {
		ids := c.MessageIDs(tag)
		for _, id := range en {
			if !slices.Contains(ids, id) {
				t.Errorf("%s lacks %s", tag, id)
			}
		}
		for _, id := range ids {
			if !slices.Contains(en, id) {
				t.Errorf("%s has %s, which English lacks", tag, id)
			}
		}
	}
	if got := c.Languages(); !slices.Equal(got, []language.Tag{language.English, language.MustParse("nb")}) {
		t.Errorf("languages = %v, want en and nb", got)
	}
}

func TestAcceptLanguagePicksTheBestLanguageOrEnglish(t *testing.T) {
	c := i18n.Default()
	for header, want := range map[string]string{
		"nb-NO,nb;q=0.9,en;q=0.8": "nb",
		"no":                      "nb",
		"nn-NO,nb;q=0.5":          "nb",
		"de-DE,en-GB;q=0.5":       "en",
		"fr":                      "en",
		"":                        "en",
		"en-US,nb;q=0.2":          "en",
		"!!garbage":               "en",
	} {
		if got := c.Match(header).String(); got != want {
			t.Errorf("Match(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestDatesAreSpeltInWordsPerLanguage(t *testing.T) {
	c := i18n.Default()
	day := time.Date(2026, 12, 6, 23, 30, 0, 0, time.FixedZone("CET", 3600))
	for code, want := range map[string]string{"en": "6 December 2026", "nb": "6. desember 2026"} {
		if got := c.ForCode(code).Date(day); got != want {
			t.Errorf("%s: Date = %q, want %q", code, got, want)
		}
	}
}

func TestPluralFormsFollowTheCount(t *testing.T) {
	c := i18n.Default()
	for _, tc := range []struct {
		code  string
		count int
		want  string
	}{
		{"en", 1, "You have 1 try left."},
		{"en", 2, "You have 2 tries left."},
		{"nb", 1, "Koden gjelder i 1 minutt."},
		{"nb", 30, "Koden gjelder i 30 minutter."},
	} {
		id := "tries_left"
		if tc.code == "nb" {
			id = "code_valid"
		}
		if got := c.ForCode(tc.code).T(id, "Count", tc.count); got != tc.want {
			t.Errorf("%s %s %d = %q, want %q", tc.code, id, tc.count, got, tc.want)
		}
	}
}

func TestAThirdLanguageIsOneMoreFile(t *testing.T) {
	files := fstest.MapFS{
		"en.toml": {Data: []byte("greeting = \"Hello\"\nfarewell = \"Goodbye\"\n")},
		"de.toml": {Data: []byte("greeting = \"Hallo\"\n")},
	}
	c, err := i18n.Load(files)
	if err != nil {
		t.Fatal(err)
	}
	de := c.For(c.Match("de-AT,de;q=0.9"))
	if got, want := de.Code(), "de"; got != want {
		t.Fatalf("language = %s, want %s", got, want)
	}
	if got := de.T("greeting"); got != "Hallo" {
		t.Errorf("greeting = %q, want Hallo", got)
	}
	if got := de.T("farewell"); got != "Goodbye" {
		t.Errorf("a message German lacks = %q, want the English Goodbye", got)
	}
}

func TestAnUnknownCodeSpeaksEnglish(t *testing.T) {
	if got := i18n.Default().ForCode("xx").Code(); got != "en" {
		t.Errorf("ForCode(xx) = %s, want en", got)
	}
	for code, want := range map[string]bool{"nb": true, "NB-no": true, "en-GB": true, "no": false, "de": false, "": false} {
		if _, ok := i18n.Default().Supported(code); ok != want {
			t.Errorf("Supported(%q) = %v, want %v", code, ok, want)
		}
	}
}

func TestLoadRefusesACatalogueWithoutEnglish(t *testing.T) {
	if _, err := i18n.Load(fstest.MapFS{"nb.toml": {Data: []byte("a = \"b\"\n")}}); err == nil {
		t.Error("Load without en.toml succeeded")
	}
}
