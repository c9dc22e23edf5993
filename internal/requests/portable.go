package requests

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// PortableCopy is the requester's data to keep or pass on to another company (GDPR Art.
// 20): a ZIP holding report.json (the whole report), one CSV file per kind of record and a
// README.txt saying what each file holds. It is built in memory from the sealed store
// results on each download and never written to disk.
func (s *Service) PortableCopy(ctx context.Context, row *requestdb.Request, lang string) ([]byte, error) {
	report, err := s.report(ctx, row, lang, true)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	modified := s.opts.Now()
	if report.CompletedAt != nil {
		modified = *report.CompletedAt
	}
	add := func(name string, body []byte) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified.UTC()})
		if err != nil {
			return err
		}
		_, err = f.Write(body)
		return err
	}
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("portable copy: %w", err)
	}
	if err := add("report.json", data); err != nil {
		return nil, fmt.Errorf("portable copy: %w", err)
	}
	// README.txt speaks the report's language.
	loc := i18n.Default().ForCode(report.Language)
	readme := loc.T("report_readme") + "\n" + "  " + loc.T("report_readme_json") + "\n"
	names := map[string]bool{"report.json": true, "README.txt": true}
	for _, c := range report.Categories {
		for _, t := range c.Records {
			name := fileName(t.Label, names)
			body, err := csvOf(t)
			if err != nil {
				return nil, fmt.Errorf("portable copy: %w", err)
			}
			if err := add(name, body); err != nil {
				return nil, fmt.Errorf("portable copy: %w", err)
			}
			readme += "  " + loc.T("report_readme_table", "File", name, "Table", t.Label, "Category", c.Label, "Rows", len(t.Rows)) + "\n"
		}
	}
	if err := add("README.txt", []byte(readme)); err != nil {
		return nil, fmt.Errorf("portable copy: %w", err)
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("portable copy: %w", err)
	}
	return buf.Bytes(), nil
}

// PortableCopyName is the file name a portable copy downloads as.
func PortableCopyName(requestID string, at time.Time) string {
	return "privacy-report-" + at.UTC().Format(time.DateOnly) + "-" + requestID[:min(8, len(requestID))] + ".zip"
}

// csvOf writes a table as CSV with a header row, every cell safe to open in a spreadsheet.
func csvOf(t RecordTable) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(safeCells(t.Columns)); err != nil {
		return nil, err
	}
	for _, row := range t.Rows {
		if err := w.Write(safeCells(row)); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// safeCells keeps a spreadsheet from running a cell as a formula (CSV injection): a cell
// starting with = + - @, a tab or a carriage return is prefixed with an apostrophe.
func safeCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			c = "'" + c
		}
		out[i] = c
	}
	return out
}

// fileName makes a CSV file name from a label ("Your orders" reads your-orders.csv),
// unique within the archive.
func fileName(label string, taken map[string]bool) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(label) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	base := strings.TrimSuffix(b.String(), "-")
	if base == "" {
		base = "records"
	}
	name := base + ".csv"
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d.csv", base, i)
	}
	taken[name] = true
	return name
}
