// Package links builds the addresses dsr mails to people: the requester's status page, the
// signed links to a review's report and to a milestone's receipt, and a request's page on
// the staff dashboard. The API
// serves these paths; this package is the one place that spells them.
package links

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/keys"
)

// DefaultReportTTL is how long the link a review's completion mail carries opens the report
// without the status token.
const DefaultReportTTL = 7 * 24 * time.Hour

// Query parameters of the links. The status page takes the request's link key; the report
// takes its format and, when opened by a mailed link, an expiry and a signature; a receipt
// takes its milestone and a signature.
const (
	LinkKeyParam   = "k"
	FormatParam    = "format"
	ExpiresParam   = "expires"
	SignatureParam = "signature"
	MilestoneParam = "milestone"
)

// Builder builds links under one public address.
type Builder struct {
	// Base is where people reach dsr's pages, such as https://privacy.example.com.
	Base   string
	Secret keys.Secret
	// ReportTTL is how long a report link works; zero means DefaultReportTTL.
	ReportTTL time.Duration
}

func (b Builder) base() string { return strings.TrimRight(b.Base, "/") }

// StatusPage is the requester's status page. It carries the request's link key
// (keys.Secret.StatusLinkKey), so it opens in any browser, not only the one that sent the
// request.
func (b Builder) StatusPage(requestID string) string {
	return b.base() + "/requests/" + requestID + "?" + LinkKeyParam + "=" + b.Secret.StatusLinkKey(requestID)
}

// VerifyPage is the page that takes the mailed code, with the link key as StatusPage has.
func (b Builder) VerifyPage(requestID string) string {
	return b.base() + "/requests/" + requestID + "/verify?" + LinkKeyParam + "=" + b.Secret.StatusLinkKey(requestID)
}

// Report is the signed link to a request's HTML report, valid for ReportTTL from now.
func (b Builder) Report(requestID string, now time.Time) string {
	ttl := b.ReportTTL
	if ttl <= 0 {
		ttl = DefaultReportTTL
	}
	expires := now.Add(ttl).Truncate(time.Second)
	q := url.Values{FormatParam: {"html"}, ExpiresParam: {strconv.FormatInt(expires.Unix(), 10)},
		SignatureParam: {b.Secret.ReportLinkSignature(requestID, expires)}}
	return b.base() + "/api/v1/requests/" + requestID + "/report?" + q.Encode()
}

// Receipt is the signed link to the receipt of one milestone of a request: the
// transparency log's entry for it, with its proof against the latest checkpoint. It opens
// without the status token and does not expire (see keys.Secret.ReceiptLinkSignature).
func (b Builder) Receipt(requestID, milestone string) string {
	q := url.Values{MilestoneParam: {milestone}, SignatureParam: {b.Secret.ReceiptLinkSignature(requestID, milestone)}}
	return b.base() + "/api/v1/requests/" + requestID + "/receipt?" + q.Encode()
}

// Logo is the organisation's logo, which mail shows above its text.
func (b Builder) Logo() string { return b.base() + "/brand/logo" }

// StaffPage is a request's page on the staff dashboard.
func (b Builder) StaffPage(requestID string) string {
	return b.base() + "/admin/requests/" + requestID
}
