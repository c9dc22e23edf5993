package api

import (
	"encoding/json"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// requestWords are the catalogue's words for what a request asks, as its details say: a
// restriction that lifts its limits reads as allowing a use again. Details that do not
// decode leave the type's words.
func requestWords(l *i18n.Localizer, row *requestdb.Request) string {
	var d domain.Details
	if row.Details != "" && json.Unmarshal([]byte(row.Details), &d) == nil {
		if w := d.Wording(row.Type); w != string(row.Type) {
			if s, err := l.Translate("type_" + w); err == nil {
				return s
			}
		}
	}
	return localTypeText(l, row.Type)
}
