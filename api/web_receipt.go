package api

import (
	"encoding/json"
	"strconv"

	"github.com/dsr-project/dsr/internal/tlog"
)

// receiptCheck is what the status page's script (static/receipt.js) says of the receipt
// it checks, in the page's language. Checked holds {step} and {date}, which the script
// fills in from the receipt, the date as the page spells dates: DateTime with {day},
// {month}, {year} and {time} filled in, the month named from Months.
type receiptCheck struct {
	Steps                                               string // JSON: milestone to words
	Months                                              string // JSON: the 12 months' names
	DateTime                                            string
	Checking, Checked, Failed, Unavailable, NoSignature string
}

// ReceiptCheck is the words of the receipt check on the status page.
func (p statusPageData) ReceiptCheck() receiptCheck {
	steps := map[tlog.Milestone]string{}
	for _, m := range tlog.Milestones { // any a receipt may hold
		steps[m] = p.StepText(string(m))
	}
	months := make([]string, 12)
	for i := range months {
		months[i] = p.T("month_" + strconv.Itoa(i+1))
	}
	// Maps and slices of strings always marshal.
	stepsJSON, _ := json.Marshal(steps)
	monthsJSON, _ := json.Marshal(months)
	return receiptCheck{
		Steps: string(stepsJSON), Months: string(monthsJSON),
		DateTime:    p.T("date_time", "Date", p.T("date", "Day", "{day}", "Month", "{month}", "Year", "{year}"), "Time", "{time}"),
		Checking:    p.T("receipt_check_running"),
		Checked:     p.T("receipt_check_ok", "Step", "{step}", "Date", "{date}"),
		Failed:      p.T("receipt_check_failed"),
		Unavailable: p.T("receipt_check_unavailable"),
		NoSignature: p.T("receipt_check_no_signature"),
	}
}
