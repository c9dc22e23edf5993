package api

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/i18n"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// The requester's pages speak the language chosen by ?lang= (kept in a cookie), else the
// one stored on the request, else the best match of the browser's Accept-Language.
const (
	langParam  = "lang"
	langCookie = "dsr_lang"
	langLife   = 400 * 24 * time.Hour
	ctxLang    = "dsr.lang"
)

// Brand is how the organisation presents itself on the public pages.
type Brand struct {
	Organization     string
	PrivacyPolicyURL string
	// LogoFile is a PNG, JPEG, SVG or WebP file served at /brand/logo; empty for none.
	LogoFile string
	// AccentColor is #rrggbb, served in /brand.css; anything else means the default.
	AccentColor string
}

// HasLogo says whether the pages show a logo.
func (b *Brand) HasLogo() bool { return b != nil && b.LogoFile != "" }

// The brand's routes. The pages' policy allows only their own images and style sheets, so
// the logo and the accent colour are served from here rather than linked or inlined.
const (
	brandCSSPath  = "/brand.css"
	brandLogoPath = "/brand/logo"
)

func (s *Server) brandRoutes() {
	s.echo.GET(brandCSSPath, s.brandCSS, webHeaders)
	s.echo.GET(brandLogoPath, s.brandLogo, webHeaders)
}

func (s *Server) brandCSS(c echo.Context) error {
	accent := s.opts.Brand.AccentColor
	if !mail.ValidAccentColor(accent) {
		accent = mail.DefaultAccentColor
	}
	css := ":root { --accent: " + strings.ToLower(accent) + "; }\n"
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	c.Response().Header().Set("Content-Length", strconv.Itoa(len(css)))
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", []byte(css))
}

func (s *Server) brandLogo(c echo.Context) error {
	file := s.opts.Brand.LogoFile
	kind, ok := config.LogoTypes[strings.ToLower(filepath.Ext(file))]
	if file == "" || !ok {
		return s.renderError(c, fail(http.StatusNotFound, "there is no logo"))
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return s.renderError(c, internalError(err))
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	// An SVG opened on its own is a document: it may run no script and load nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	return c.Blob(http.StatusOK, kind, raw)
}

// languageLink is one language the switch offers, in its own name.
type languageLink struct {
	Code, Name, Href string
	Current          bool
}

// pageLocalizer picks the requester's language and keeps a choice made by ?lang= in a
// cookie, so that the next page speaks it too.
func (s *Server) pageLocalizer(c echo.Context) *i18n.Localizer {
	if l, ok := c.Get(ctxLang).(*i18n.Localizer); ok {
		return l
	}
	cat := i18n.Default()
	l := s.chooseLanguage(c, cat)
	c.Set(ctxLang, l)
	return l
}

func (s *Server) chooseLanguage(c echo.Context, cat *i18n.Catalogue) *i18n.Localizer {
	r := c.Request()
	if tag, ok := cat.Supported(r.URL.Query().Get(langParam)); ok {
		c.SetCookie(&http.Cookie{
			Name: langCookie, Value: tag.String(), Path: "/", MaxAge: int(langLife / time.Second),
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.overTLS(r),
		})
		return cat.For(tag)
	}
	if cookie, err := c.Cookie(langCookie); err == nil {
		if tag, ok := cat.Supported(cookie.Value); ok {
			return cat.For(tag)
		}
	}
	if row := requestOf(c); row != nil && row.Language != "" {
		return cat.ForCode(row.Language)
	}
	return cat.For(cat.Match(r.Header.Get("Accept-Language")))
}

// publicPage is the frame of a requester's page: its title, language, brand and switch.
func (s *Server) publicPage(c echo.Context, titleID string) webPage {
	l := s.pageLocalizer(c)
	p := webPage{Title: l.T(titleID), loc: l, Brand: &s.opts.Brand}
	for _, tag := range i18n.Default().Languages() {
		other := i18n.Default().For(tag)
		q := url.Values{langParam: {other.Code()}}
		p.Switch = append(p.Switch, languageLink{
			Code: other.Code(), Name: other.T("language_name"), Href: c.Request().URL.Path + "?" + q.Encode(),
			Current: other.Code() == l.Code(),
		})
	}
	return p
}

// requestOf is the request a requester's page is about, or nil on other pages.
func requestOf(c echo.Context) *requestdb.Request {
	row, _ := c.Get(ctxRequest).(*requestdb.Request)
	return row
}
