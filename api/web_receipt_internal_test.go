package api

import (
	"encoding/json"
	"testing"

	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/tlog"
)

// The receipt check names whatever milestone a receipt holds in the reader's words, never
// by the log's code for it ("appeal_denied").
func TestTheReceiptCheckNamesEveryMilestoneInWords(t *testing.T) {
	for _, lang := range []string{"en", "nb"} {
		p := statusPageData{webPage: webPage{loc: i18n.Default().ForCode(lang)}}
		var steps map[string]string
		if err := json.Unmarshal([]byte(p.ReceiptCheck().Steps), &steps); err != nil {
			t.Fatal(err)
		}
		for _, m := range tlog.Milestones {
			if _, err := p.loc.Translate("step_" + string(m)); err != nil || steps[string(m)] == "" {
				t.Errorf("%s: milestone %s has no words (%q): %v", lang, m, steps[string(m)], err)
			}
		}
	}
}
