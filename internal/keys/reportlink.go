package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// ReportLinkSignature signs a link that downloads a request's report until expires, so the
// completion mail can carry a link that needs no status token but stops working. The mail
// activity makes it and the report endpoint checks it.
func (s Secret) ReportLinkSignature(requestID string, expires time.Time) string {
	m := hmac.New(sha256.New, s.Derive("report-link"))
	m.Write([]byte("report-link:" + requestID + ":" + strconv.FormatInt(expires.Unix(), 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ValidReportLink reports, in constant time, whether signature signs the link of request
// requestID that expires at expires.
func (s Secret) ValidReportLink(requestID string, expires time.Time, signature string) bool {
	return signature != "" && hmac.Equal([]byte(signature), []byte(s.ReportLinkSignature(requestID, expires)))
}
