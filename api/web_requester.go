package api

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/internal/tlog"
)

// The requester's pages. The status token is the requester's only key to a request, so the
// form hands it to the browser in an HttpOnly cookie scoped to that request's pages
// (/requests/{id}): scripts cannot read it, it never appears in a URL, a history or a
// Referer header, and it is not sent anywhere else. SameSite=Lax keeps other sites from
// posting to the request's forms with it, and each form also carries a token derived from
// the status token.
const (
	statusCookie     = "dsr_status"
	statusCookieLife = 400 * 24 * time.Hour
	// changeRows is how many field/new-value rows the form offers for a correction.
	changeRows = 3
	// statusRefresh reloads a status page whose request is still moving on its own.
	statusRefresh = 20
)

func (s *Server) requesterPageRoutes() {
	e := s.echo
	e.GET("/", s.requestFormPage, webHeaders)
	e.POST("/", s.submitRequestForm, webHeaders)
	mine := e.Group("/requests/:id", webHeaders, s.acceptLinkKey, s.requireStatusCookie)
	mine.GET("", s.statusPage)
	mine.GET("/verify", s.verifyPage)
	mine.POST("/verify", s.submitCodeForm)
	mine.POST("/resend-code", s.resendCodeForm)
	mine.POST("/identity", s.submitIdentityForm)
	mine.POST("/appeal", s.submitAppealForm)
	mine.GET("/report", s.reportDownload)
	mine.GET("/report.zip", s.portableCopyPage)
	if s.opts.TransparencyLog != nil {
		mine.GET("/receipt.json", s.receiptDownload)
	}
}

// requestChoice is one kind of request as the form offers it, in the privacy policy's words.
type requestChoice struct {
	Type    domain.RequestType
	Label   string
	Does    string
	MayKeep string
}

// formTypes are the kinds of request the public form offers, in its order.
var formTypes = []domain.RequestType{domain.TypeReview, domain.TypeCorrect, domain.TypeUpdate, domain.TypeSuppress, domain.TypeRestrict}

// formLimits are the limits a restriction may name.
var formLimits = []domain.RestrictLimit{domain.LimitMarketingEmail, domain.LimitAffiliateSharing, domain.LimitAllProcessing}

var formJurisdictions = []domain.Jurisdiction{
	domain.JurisdictionDefault, domain.JurisdictionGDPR, domain.JurisdictionCCPA,
	domain.JurisdictionVCDPA, domain.JurisdictionCPA, domain.JurisdictionCTDPA,
}

// option is one choice of a list, its value and its words.
type option struct {
	Value string
	Label string
}

// changeRow is one field/new-value row of the form, with its problems.
type changeRow struct {
	Index      int
	Field      string
	Value      string
	FieldError string
	ValueError string
}

// requestFormPage is the request form, with what was submitted and what is wrong with it.
type requestFormPage struct {
	webPage
	GPC            bool
	Choices        []requestChoice
	Limits         []option
	Jurisdictions  []option
	Correctable    []option
	Categories     []option
	Values         url.Values
	Rows           []changeRow
	Errors         map[string]string
	IdempotencyKey string
	// Agent marks the form of an authorized agent, who asks for someone else.
	Agent bool
}

func (p requestFormPage) Checked(name, value string) bool {
	for _, v := range p.Values[name] {
		if v == value {
			return true
		}
	}
	return false
}

func (s *Server) newRequestForm(c echo.Context, values url.Values) requestFormPage {
	p := requestFormPage{
		webPage: s.publicPage(c, "form_title"),
		GPC:     c.Request().Header.Get(headerGPC) == "1",
		Values:  values, Errors: map[string]string{}, IdempotencyKey: uuid.NewString(),
	}
	for _, t := range formTypes {
		p.Choices = append(p.Choices, requestChoice{Type: t, Label: p.T("choice_" + string(t)),
			Does: p.T("choice_" + string(t) + "_does"), MayKeep: p.T("choice_" + string(t) + "_keeps")})
	}
	for _, l := range formLimits {
		p.Limits = append(p.Limits, option{string(l), p.T("limit_" + string(l))})
	}
	for _, j := range formJurisdictions {
		p.Jurisdictions = append(p.Jurisdictions, option{string(j), p.T("jurisdiction_" + string(j))})
	}
	for _, cat := range s.svc.Categories() {
		o := option{cat.Name, s.categoryLabel(p.webPage, cat.Name)}
		p.Categories = append(p.Categories, o)
		if cat.Correctable {
			p.Correctable = append(p.Correctable, o)
		}
	}
	fields, newValues := values["change_field"], values["change_value"]
	for i := range changeRows {
		row := changeRow{Index: i}
		if i < len(fields) {
			row.Field = fields[i]
		}
		if i < len(newValues) {
			row.Value = newValues[i]
		}
		p.Rows = append(p.Rows, row)
	}
	return p
}

// categoryLabel names a category to the requester in the page's language: as the data
// maps label it, else in the catalogue's words.
func (s *Server) categoryLabel(p webPage, name string) string {
	if l, ok := s.svc.CategoryLabel(name, p.Lang()); ok {
		return l
	}
	return p.Words(name)
}

func (s *Server) requestFormPage(c echo.Context) error {
	return s.render(c, http.StatusOK, "request_form.html", s.newRequestForm(c, url.Values{"jurisdiction": {string(domain.JurisdictionDefault)}}))
}

// webIntake turns the form into the API's IntakeForm, taking only the details of the chosen
// type, and says which form row each change came from.
func webIntake(values url.Values, language string) (IntakeForm, []int) {
	form := IntakeForm{Type: values.Get("type"), Email: values.Get("email"), Jurisdiction: values.Get("jurisdiction"), Language: language}
	var rows []int
	switch domain.RequestType(form.Type) {
	case domain.TypeCorrect, domain.TypeUpdate:
		fields, newValues := values["change_field"], values["change_value"]
		for i := range min(len(fields), len(newValues), changeRows) {
			if strings.TrimSpace(fields[i]) == "" && strings.TrimSpace(newValues[i]) == "" {
				continue
			}
			form.Details.Changes = append(form.Details.Changes, domain.FieldChange{Field: fields[i], Value: newValues[i]})
			rows = append(rows, i)
		}
	case domain.TypeSuppress:
		switch values.Get("scope") {
		case "all":
			form.Details.Scope = &domain.SuppressScope{All: true}
		case "categories":
			form.Details.Scope = &domain.SuppressScope{Categories: values["category"]}
		}
	case domain.TypeRestrict:
		for _, l := range values["limit"] {
			form.Details.Limits = append(form.Details.Limits, domain.RestrictLimit(l))
		}
	}
	return form, rows
}

// placeChangeErrors puts each problem of a requested change beside its row.
func (p *requestFormPage) placeChangeErrors(changes map[int]domain.ChangeProblem, rows []int) {
	for i, problem := range changes {
		if i >= len(rows) {
			continue
		}
		if problem.Field != "" {
			p.Rows[rows[i]].FieldError = p.T("form_error_change_field")
		}
		if problem.Value != "" {
			p.Rows[rows[i]].ValueError = p.T("form_error_change_value")
		}
	}
}

// placeErrors puts each of the other field problems beside the input it belongs to, in
// the catalogue's words for that input; changes placed by row are left out.
func (p *requestFormPage) placeErrors(fields map[string]string) {
	for path, msg := range fields {
		slot := ""
		switch {
		case strings.HasPrefix(path, "details.changes["):
			continue
		case strings.HasPrefix(path, "details.changes"):
			slot = "changes"
		case strings.HasPrefix(path, "details.scope"):
			slot = "scope"
		case strings.HasPrefix(path, "details.limits"):
			slot = "limits"
		case path == "type" || path == "email" || path == "jurisdiction":
			slot = path
		case path == "agent.name" || path == "agent.contact" || path == "agent.permission":
			slot = strings.Replace(path, ".", "_", 1)
		default:
			p.Errors["form"] = sentence(msg)
			continue
		}
		p.Errors[slot] = p.T("form_error_" + slot)
	}
}

// formRefusal is a refusal of the whole form in the catalogue's words where it has them.
func (p *requestFormPage) formRefusal(status int, msg string) string {
	switch status {
	case http.StatusForbidden:
		return p.T("form_error_staff_only")
	case http.StatusTooManyRequests:
		return p.T("form_error_busy")
	}
	return sentence(msg)
}

// submitRequestForm opens a request as POST /api/v1/requests does, with the same
// validation, rate limits, GPC handling and idempotency, then shows the verification page.
func (s *Server) submitRequestForm(c echo.Context) error {
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return s.renderError(c, readError(err))
	}
	values := r.PostForm
	page := s.newRequestForm(c, values)
	if err := s.limitIntakeByIP(c); err != nil {
		return s.renderError(c, err)
	}
	// The request keeps the language its form was read in, for its pages and mail.
	form, rows := webIntake(values, page.Lang())
	answer, _, opened, err := s.openFromForm(c, &page, form, rows, requests.Opening{GPC: page.GPC})
	if !opened {
		return err
	}
	s.setStatusCookie(c, answer.ID, answer.StatusToken)
	return c.Redirect(http.StatusSeeOther, "/requests/"+answer.ID+"/verify")
}

// openFromForm validates and opens a request from a web form as POST /api/v1/requests does,
// with the same rate limits and idempotency. When it cannot, it has answered with the form
// again (what was typed, and why not) or an error page: opened is false and err is the
// handler's to return.
func (s *Server) openFromForm(c echo.Context, page *requestFormPage, form IntakeForm, rows []int, opening requests.Opening) (answer IntakeAnswer, in requests.Intake, opened bool, err error) {
	in, err = s.svc.ValidateIntake(form, nil, false)
	if err == nil {
		err = s.limitIntakeByAddress(in)
	}
	if err != nil {
		ae := asAPIError(err)
		if ae.status != http.StatusUnprocessableEntity && ae.status != http.StatusForbidden && ae.status != http.StatusTooManyRequests {
			return answer, in, false, s.renderError(c, err)
		}
		var invalid *domain.Error
		if errors.As(err, &invalid) && invalid.Validation != nil {
			page.placeChangeErrors(invalid.Validation.Changes, rows)
		}
		page.placeErrors(ae.fields)
		if len(ae.fields) == 0 {
			page.Errors["form"] = page.formRefusal(ae.status, ae.message)
		}
		return answer, in, false, s.render(c, ae.status, "request_form.html", page)
	}
	key := []string{page.Values.Get("idempotency_key")}
	err = checkIdempotencyKey(key)
	if err == nil {
		opening.IdempotencyKey, opening.Keyed = key[0], true
		answer, _, err = s.svc.Open(c.Request().Context(), in, opening)
	}
	if err != nil {
		ae := asAPIError(err)
		if ae.status >= 500 {
			return answer, in, false, s.renderError(c, err)
		}
		page.Errors["form"] = sentence(ae.message)
		return answer, in, false, s.render(c, ae.status, "request_form.html", page)
	}
	return answer, in, true, nil
}

func (s *Server) setStatusCookie(c echo.Context, id, token string) {
	c.SetCookie(&http.Cookie{
		Name: statusCookie, Value: token, Path: "/requests/" + id, MaxAge: int(statusCookieLife / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.overTLS(c.Request()),
	})
}

// ctxStatusToken is where requireStatusCookie leaves the token it admitted.
const ctxStatusToken = "dsr.status_token"

// requireStatusCookie admits the holder of the request's status token, from the cookie the
// form set or, for programs, an Authorization header, or the holder of the request's link
// key in the cookie a mailed link set. A form posted with the cookie must
// also carry the token derived from it.
func (s *Server) requireStatusCookie(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, byCookie := bearerToken(c), false
		if token == "" {
			if cookie, err := c.Cookie(statusCookie); err == nil {
				token, byCookie = cookie.Value, true
			}
		}
		row, err := s.requestForToken(c.Request().Context(), c.Param("id"), token)
		if err != nil && byCookie && s.validLinkKey(c.Param("id"), token) {
			// The cookie holds a mailed link's key rather than the status token.
			row, err = s.findRequest(c.Request().Context(), c.Param("id"))
		}
		if err != nil {
			return s.render(c, http.StatusUnauthorized, "no_access.html", s.publicPage(c, "no_access_title"))
		}
		if c.Request().Method == http.MethodPost {
			if err := s.limit(s.limiters.verifyIP, s.clientKey(c.Request())); err != nil {
				return s.renderError(c, err)
			}
			if byCookie && !hmac.Equal([]byte(c.FormValue("form_token")), []byte(s.requesterFormToken(token))) {
				return s.renderError(c, fail(http.StatusForbidden, "this form has expired; open the page again and resubmit"))
			}
			if err := s.limit(s.limiters.verifyRequest, row.ID); err != nil {
				return s.renderError(c, err)
			}
		}
		c.Set(ctxRequest, row)
		c.Set(ctxStatusToken, token)
		return next(c)
	}
}

// requesterFormToken is the requester's forms' CSRF token, bound to the status token.
func (s *Server) requesterFormToken(statusToken string) string {
	m := hmac.New(sha256.New, s.opts.Secret.Derive("requester-form"))
	m.Write([]byte(statusToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verifyPageData is the page that takes the mailed code.
type verifyPageData struct {
	webPage
	ID        string
	FormToken string
	Error     string
	Notice    string
	Identity  bool
	// CodeMinutes is how long a mailed code works.
	CodeMinutes int
	// Agent names the authorized agent who asked for the person, whose code confirms them.
	Agent string
	// Return is the way back to a protocol agent, carried through the forms.
	Return *agentReturn
}

func (s *Server) verifyData(c echo.Context) verifyPageData {
	return verifyPageData{
		webPage: s.publicPage(c, "verify_title"), ID: currentRequest(c).ID,
		FormToken:   s.requesterFormToken(c.Get(ctxStatusToken).(string)),
		CodeMinutes: int(cmp.Or(s.opts.Verification.CodeLife, domain.DefaultCodeLife) / time.Minute),
		Agent:       currentRequest(c).AgentName, Return: agentReturnOf(c, currentRequest(c)),
	}
}

func (s *Server) verifyPage(c echo.Context) error {
	if currentRequest(c).Status != domain.StatusAwaitingEmailVerification && currentRequest(c).Status != domain.StatusReceived {
		return c.Redirect(http.StatusSeeOther, "/requests/"+currentRequest(c).ID)
	}
	return s.render(c, http.StatusOK, "verify.html", s.verifyData(c))
}

// codeResults are the catalogue's words for a code that did not confirm the address.
var codeResults = map[domain.CheckResult]string{
	domain.CheckWrongCode: "code_wrong",
	domain.CheckExpired:   "code_expired",
	domain.CheckLocked:    "code_locked",
}

func (s *Server) submitCodeForm(c echo.Context) error {
	row := currentRequest(c)
	page := s.verifyData(c)
	out, err := s.svc.VerifyEmail(c.Request().Context(), row.ID, c.FormValue("code"))
	if err != nil {
		return s.pageRefusal(c, err, "verify.html", page.webPage, &page.Error, &page)
	}
	if out.Result == domain.CheckConfirmed {
		return c.Redirect(http.StatusSeeOther, withAgentReturn("/requests/"+row.ID, page.Return))
	}
	page.Error = page.T(codeResults[out.Result])
	if out.Result == domain.CheckWrongCode {
		page.Error += " " + page.T("tries_left", "Count", out.AttemptsLeft)
	}
	return s.render(c, http.StatusUnprocessableEntity, "verify.html", page)
}

func (s *Server) resendCodeForm(c echo.Context) error {
	page := s.verifyData(c)
	out, err := s.svc.ResendCode(c.Request().Context(), currentRequest(c).ID)
	if err != nil {
		return s.pageRefusal(c, err, "verify.html", page.webPage, &page.Error, &page)
	}
	page.Notice = page.T("code_resent", "Time", page.localizer().Time(out.ExpiresAt))
	return s.render(c, http.StatusOK, "verify.html", page)
}

// pageRefusal shows a refusal by the workflow, whose message is written for people, on the
// page itself; failures of the machinery get the error page.
func (s *Server) pageRefusal(c echo.Context, err error, page string, words webPage, slot *string, data any) error {
	ae := asAPIError(err)
	if ae.status >= 500 || ae.status == http.StatusTooManyRequests {
		return s.renderError(c, err)
	}
	*slot = sentence(ae.message)
	// The catalogue words each kind of refusal; the workflow's English is the fallback.
	if msg, err := words.localizer().Translate("refusal_" + ae.kind); ae.kind != "" && err == nil {
		*slot = msg
	}
	return s.render(c, ae.status, page, data)
}

// statusPageData is the requester's view of a request, as the API's status answers it.
type statusPageData struct {
	webPage
	View      RequesterView
	Row       *requestdb.Request
	Live      bool
	FormToken string
	Error     string
	Notice    string
	// Receipt says the log holds a milestone of the request, so the page offers its receipt.
	Receipt bool
	// Offer says whether the request may be appealed, and holds its appeal once made;
	// AppealText and AppealError are a refused appeal's text and what was wrong with it.
	Offer       requests.AppealOffer
	AppealText  string
	AppealError string
	// Return is the way back to a protocol agent, carried through the identity form.
	Return *agentReturn
	// FollowUpURL opens the request a granted appeal opened, by its link key: the person
	// holds no status token of it.
	FollowUpURL string
}

// ClosedAt is when a closed request reached its final status, which the page shows in
// place of the date it was due by (an appeal's steps may follow); nil while it is open.
func (p statusPageData) ClosedAt() *time.Time {
	v := p.View
	if !v.Status.Terminal() {
		return nil
	}
	for _, st := range v.Steps {
		if st.Status == v.Status {
			return &st.At
		}
	}
	return nil
}

// TypeWords says what the request asks, in the page's language.
func (p statusPageData) TypeWords() string { return requestWords(p.localizer(), p.Row) }

// OfferReturn says the person has proven who they are and came from an agent's link, so
// the page offers the way back (DRP 1.0 section 3.02.1); not before, as the section asks.
func (p statusPageData) OfferReturn() bool {
	return p.Return != nil && personVerified(p.Row)
}

// MaxAppeal is how many characters an appeal may hold.
func (statusPageData) MaxAppeal() int { return domain.MaxAppealText }

// AgentName names the authorized agent who made the request for the person, if one did,
// so the page can say whom the person's request came through and that their data does not.
func (p statusPageData) AgentName() string {
	if p.Row == nil || !p.Row.ByAgent() {
		return ""
	}
	return p.Row.AgentName
}

// AnswersIdentity says the requester is to prove who they are by answering questions
// about data we hold, rather than waiting for our privacy team.
func (p statusPageData) AnswersIdentity() bool {
	v := p.View
	return v.Status == domain.StatusAwaitingIdentityVerification && v.IdentityAttemptsLeft > 0 &&
		strings.HasPrefix(v.IdentityRequirement, string(domain.IdentityDataPoints))
}

// StatusWords is the request's status in the requester's words.
func (p statusPageData) StatusWords() string {
	if p.AnswersIdentity() {
		return p.T("status_awaiting_identity_answers")
	}
	return p.StatusText(p.View.Status)
}

// nextStep says who must act now, and what happens next.
type nextStep struct {
	Actor string // requester, us or none
	Who   string
	What  string
}

// requesterActs are the statuses in which nothing happens until the requester acts.
var requesterActs = []domain.Status{domain.StatusAwaitingEmailVerification}

func (p statusPageData) Next() nextStep {
	st := p.View.Status
	what := "next_" + string(st)
	n := nextStep{Actor: "us", Who: p.T("next_us")}
	switch {
	case st.Terminal():
		n = nextStep{Actor: "none", Who: p.T("next_done")}
	case p.AnswersIdentity():
		what = "next_awaiting_identity_answers"
		fallthrough
	case slices.Contains(requesterActs, st):
		n = nextStep{Actor: "requester", Who: p.T("next_you")}
	}
	if t, err := p.localizer().Translate(what); err == nil {
		n.What = t
	}
	return n
}

func (s *Server) statusData(c echo.Context) statusPageData {
	row := currentRequest(c)
	p := statusPageData{
		webPage: s.publicPage(c, "status_title"), Row: row,
		FormToken: s.requesterFormToken(c.Get(ctxStatusToken).(string)), Return: agentReturnOf(c, row),
	}
	view, err := s.svc.Status(c.Request().Context(), row, p.Lang())
	if err != nil {
		s.log.Warn("request progress unavailable", "request_id", row.ID, "error", err)
		p.View = RequesterView{ID: row.ID, Type: row.Type, Status: row.Status, StatusReason: row.StatusReason, ReceivedAt: row.ReceivedAt, DueDate: row.DueAt,
			IdentityRequirement: row.IdentityRequirement, IdentityAttemptsLeft: row.IdentityAttemptsLeft}
		p.Error = p.T("status_unavailable")
		return p
	}
	p.Live = true
	p.View = view
	p.Receipt = s.opts.TransparencyLog != nil && slices.ContainsFunc(view.Steps, func(st requests.StatusStep) bool {
		_, ok := tlog.MilestoneOf(st.Action)
		return ok
	})
	if view.Status.Terminal() {
		if p.Offer, err = s.svc.AppealOf(c.Request().Context(), row); err != nil {
			s.log.Warn("appeal offer unavailable", "request_id", row.ID, "error", err)
		}
		if ap := p.Offer.Appeal; ap != nil && ap.FollowUpID != "" {
			p.FollowUpURL = "/requests/" + ap.FollowUpID + "?" + links.LinkKeyParam + "=" + s.opts.Secret.StatusLinkKey(ap.FollowUpID)
		}
	}
	if st := view; !st.Status.Terminal() && st.Status != domain.StatusAwaitingEmailVerification && st.Status != domain.StatusAwaitingIdentityVerification {
		p.Refresh = statusRefresh
	}
	return p
}

func (s *Server) statusPage(c echo.Context) error {
	return s.render(c, http.StatusOK, "status.html", s.statusData(c))
}

// submitAppealForm records the requester's appeal and shows it on the status page; a
// refused appeal shows why beside the form, in the reader's language, keeping the text.
func (s *Server) submitAppealForm(c echo.Context) error {
	row := currentRequest(c)
	text := c.FormValue("text")
	_, err := s.svc.SubmitAppeal(c.Request().Context(), row, text)
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/requests/"+row.ID+"#appeal")
	}
	page := s.statusData(c)
	ae := asAPIError(err)
	if ae.status >= 500 || ae.status == http.StatusTooManyRequests {
		return s.renderError(c, err)
	}
	page.AppealText, page.AppealError = text, sentence(ae.message)
	key := "refusal_" + ae.kind
	if ae.status == http.StatusUnprocessableEntity {
		key = "appeal_error_" + ae.kind
	}
	if msg, terr := page.localizer().Translate(key, "Count", domain.MaxAppealText); ae.kind != "" && terr == nil {
		page.AppealError = msg
	}
	if !page.Offer.Open {
		// The form is gone (the window closed, or an appeal was made): say it at the top.
		page.Error = page.AppealError
	}
	return s.render(c, ae.status, "status.html", page)
}

// identityPoints are the data points the identity form asks for.
var identityPoints = []string{"postal_code", "phone_last4", "order_number"}

func (s *Server) submitIdentityForm(c echo.Context) error {
	answers := map[string]string{}
	for _, name := range identityPoints {
		if v := strings.TrimSpace(c.FormValue(name)); v != "" {
			answers[name] = v
		}
	}
	out, err := s.svc.SubmitIdentity(c.Request().Context(), currentRequest(c).ID, answers)
	if err != nil {
		page := s.statusData(c)
		return s.pageRefusal(c, err, "status.html", page.webPage, &page.Error, &page)
	}
	if out.Verified {
		return c.Redirect(http.StatusSeeOther, withAgentReturn("/requests/"+currentRequest(c).ID, agentReturnOf(c, currentRequest(c))))
	}
	page := s.statusData(c)
	page.Error = page.T("identity_mismatch") + " " + page.T("tries_left", "Count", out.AttemptsLeft)
	return s.render(c, http.StatusUnprocessableEntity, "status.html", page)
}

// reportDownload serves the API's report: as a file to save, or with ?format=html as a
// page to read in the browser.
func (s *Server) reportDownload(c echo.Context) error {
	row := currentRequest(c)
	if row.Status != domain.StatusCompleted {
		_, err := s.svc.Report(c.Request().Context(), row, s.reportLanguage(c))
		return s.renderError(c, err)
	}
	if !wantsHTML(c) {
		c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="dsr-report-`+row.ID+`.json"`)
	}
	return s.requesterReport(c)
}
