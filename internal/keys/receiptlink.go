package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// ReceiptLinkSignature signs a link that downloads the receipt of one milestone of a
// request, so that each milestone's mail can carry a link that needs no status token. It
// does not expire: a receipt holds no personal data, and a requester may need it months
// later, for an appeal or a complaint. The mail activity makes it and the receipt endpoint
// checks it.
func (s Secret) ReceiptLinkSignature(requestID, milestone string) string {
	m := hmac.New(sha256.New, s.Derive("receipt-link"))
	m.Write([]byte("receipt-link:" + requestID + ":" + milestone))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ValidReceiptLink reports, in constant time, whether signature signs the receipt link of
// the request's milestone.
func (s Secret) ValidReceiptLink(requestID, milestone, signature string) bool {
	return signature != "" && hmac.Equal([]byte(signature), []byte(s.ReceiptLinkSignature(requestID, milestone)))
}
