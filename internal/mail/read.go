package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
)

// Read is a received message as the tools that read dsr's mail see it: the test SMTP
// server and the benchmark's code sink.
type Read struct {
	Header  mail.Header
	Subject string // decoded
	Text    string // the first text/plain part, decoded
	HTML    string // the first text/html part, decoded
}

// ReadMessage parses a message as it arrived over SMTP.
func ReadMessage(raw []byte) (Read, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Read{}, err
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Read{}, err
	}
	m := Read{Header: msg.Header, Subject: subject}
	err = m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return m, err
}

// readPart walks the MIME tree and keeps the first text/plain and text/html parts.
// multipart.Reader already decodes quoted-printable; base64 is decoded here.
func (m *Read) readPart(contentType, encoding string, body io.Reader) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	if strings.EqualFold(encoding, "base64") {
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = string(b)
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = string(b)
	}
	return nil
}
