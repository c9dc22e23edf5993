package requests

import (
	"strings"
	"time"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/dsr-project/dsr/internal/domain"
)

// The words of the requester's report that depend on the reader's language live here
// together, in English for now, so that they can move into the message catalogue as one.

// DefaultLanguage is the language of a report when the reader asks for none.
const DefaultLanguage = "en"

// DateFormatter writes a date for people in a language, with the time of day when withTime.
type DateFormatter func(lang string, t time.Time, withTime bool) string

// EnglishDates writes "5 April 2031" and "5 April 2031, 14:05 UTC", whatever the language.
func EnglishDates(_ string, t time.Time, withTime bool) string {
	if withTime {
		return t.UTC().Format("2 January 2006, 15:04 MST")
	}
	return t.UTC().Format("2 January 2006")
}

// ReportWords are the fixed words of the report and its portable copy in one language.
type ReportWords struct {
	Yes, No string
	// OtherRecords heads records of no known category.
	OtherRecords string
	// Limits name the restrictions a restrict request sets.
	Limits map[domain.RestrictLimit]string
	// UntilLifted ends "kept until" for a record under a hold that has no end date.
	UntilLifted string
	// The page's headings and sentences.
	Title, CardNote, WhatWeHold, WhatWeHoldIntro, NothingFound, WhatChanged, WhatWeKeep,
	KeptRecord, KeptReason, KeptUntil, HeldElsewhere, PaymentServiceHolds, AskPaymentService,
	Notes, SharedWith, WhoWeTold, WhoWeToldIntro, Download, DownloadNote string
	// Readme is the portable copy's README.txt, before the list of its files; ReadmeJSON
	// and ReadmeTable (file, table, category, rows) describe each file.
	Readme, ReadmeJSON, ReadmeTable string
}

var englishWords = ReportWords{
	Yes: "Yes", No: "No", OtherRecords: "Other records",
	Limits: map[domain.RestrictLimit]string{
		domain.LimitMarketingEmail:   "Marketing e-mail stopped",
		domain.LimitAffiliateSharing: "Sharing with our affiliated companies stopped",
		domain.LimitAllProcessing:    "Use of your data restricted",
	},
	Title:               "Your privacy report",
	CardNote:            "Card numbers show only their last 4 digits.",
	WhatWeHold:          "What we hold about you",
	WhatWeHoldIntro:     "The kinds of personal data we found, and the records themselves where you asked to see them.",
	NothingFound:        "We found no personal data linked to this e-mail address.",
	WhatChanged:         "What we changed",
	WhatWeKeep:          "What we must keep, and why",
	KeptRecord:          "Record",
	KeptReason:          "Why we keep it",
	KeptUntil:           "Kept until",
	UntilLifted:         "the hold is lifted",
	HeldElsewhere:       "Data we do not hold",
	AskPaymentService:   "Ask the payment service for the data it holds about you.",
	PaymentServiceHolds: "Payment card details you gave on the payment service's page are collected by the payment service, not by us.",
	Notes:               "Good to know",
	SharedWith:          "Who has received your data",
	WhoWeTold:           "Who we told",
	WhoWeToldIntro:      "We had shared your data with these organisations and told them about your request:",
	Download:            "Download a portable copy (ZIP)",
	DownloadNote:        "The same data as this page, as one JSON file and a spreadsheet (CSV) for each kind of record, for you to keep or pass on to another company.",
	Readme: `Your privacy report: a portable copy

This archive holds the personal data we found about you, in formats other programs
read: JSON and CSV (open the CSV files in any spreadsheet). Dates are written as
YYYY-MM-DD (ISO 8601). Card numbers show only their last 4 digits. A cell that a
spreadsheet would take for a formula starts with an apostrophe (').

Files:
`,
	ReadmeJSON:  "  report.json: everything in your report, as JSON.\n",
	ReadmeTable: "  %s: %s (%s); records: %d.\n",
}

// WordsFor returns the report's words in lang; English until the catalogue has others.
func WordsFor(lang string) ReportWords { return englishWords }

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
