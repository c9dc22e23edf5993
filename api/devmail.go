package api

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/requestdb"
)

// DevMail is one message of the dev mailbox as the API lists it.
type DevMail struct {
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	SentAt  time.Time `json:"sent_at"`
}

// devMail lists the dev mailbox of the address in ?to=, newest first.
func (s *Server) devMail(c echo.Context) (string, []DevMail, error) {
	to := strings.TrimSpace(c.QueryParam("to"))
	if to == "" {
		return "", nil, nil
	}
	msgs, err := s.opts.DevMailbox.List(c.Request().Context(), to, requestdb.MaxDevMailList)
	if err != nil {
		return "", nil, unavailable(err)
	}
	out := make([]DevMail, len(msgs))
	for i, m := range msgs {
		out[i] = DevMail{To: m.ToAddr, Subject: m.Subject, Text: m.Text, SentAt: m.SentAt}
	}
	return to, out, nil
}

func (s *Server) devMailJSON(c echo.Context) error {
	to, msgs, err := s.devMail(c)
	if err != nil {
		return err
	}
	if to == "" {
		return invalidFields(map[string]string{"to": "is required"})
	}
	return c.JSON(http.StatusOK, msgs)
}

// devMailPageTemplate is html/template, so every subject and body is escaped.
var devMailPageTemplate = template.Must(template.New("devmail").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dsr dev mailbox</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; }
article { border-top: 1px solid #ccc; padding: 0.5rem 0; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 0.5rem; }
</style>
</head>
<body>
<h1>Dev mailbox</h1>
<p>Under <code>dsr dev</code> mail is kept here instead of being sent.</p>
<form method="get" action="/dev/mail">
<label>Address <input type="email" name="to" value="{{.To}}" required></label>
<button type="submit">Show mail</button>
</form>
{{if .To}}
{{range .Mail}}
<article>
<h2>{{.Subject}}</h2>
<p><time datetime="{{.SentAt.Format "2006-01-02T15:04:05Z07:00"}}">{{.SentAt.Format "2 Jan 2006 15:04:05 MST"}}</time></p>
<pre>{{.Text}}</pre>
</article>
{{else}}
<p>No mail to this address yet.</p>
{{end}}
{{end}}
</body>
</html>
`))

func (s *Server) devMailPage(c echo.Context) error {
	to, msgs, err := s.devMail(c)
	if err != nil {
		return err
	}
	var page bytes.Buffer
	err = devMailPageTemplate.Execute(&page, struct {
		To   string
		Mail []DevMail
	}{to, msgs})
	if err != nil {
		return internalError(err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	h.Set("Referrer-Policy", "no-referrer")
	return c.HTMLBlob(http.StatusOK, page.Bytes())
}
