// Package pages renders the team server's web pages (sign-in, device
// approval, account, organisation admin) from embedded html/template files sharing one layout.
// No JavaScript at all, and no inline style: the pages work under the
// server's Content-Security-Policy (default-src 'self'), their one
// stylesheet served from here.
package pages

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

//go:embed templates/*.html
var files embed.FS

//go:embed loom.css
var css []byte

// Page is what every page template gets.
type Page struct {
	Title string
	// Email is the signed-in user, "" for none (the layout then offers no
	// sign-out).
	Email string
	// CSRF is the session's CSRF token for the page's forms.
	CSRF string
	// Error is shown above the page's content.
	Error string
	// Data is the page's own content.
	Data any
}

// SignIn is the sign-in page's content.
type SignIn struct {
	Email, Next string
	// Minutes is how long a mailed link works.
	Minutes int
	// Providers are the other ways in, one button each.
	Providers []Provider
}

// Provider is a button on the sign-in page that starts a sign-in at an
// OpenID Connect issuer or GitHub: a link to /signin/oauth/NAME, since
// the server's CSP (form-action 'self') would stop a form's redirect to
// another site.
type Provider struct {
	Name, Label string
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	// micros formats a time kept in Unix microseconds, 0 as "never".
	"micros": func(us int64) string {
		if us == 0 {
			return "never"
		}
		return time.UnixMicro(us).UTC().Format("2006-01-02 15:04 UTC")
	},
}

// pages holds one template set per page: the layout plus that page. They
// are parsed at the first page served, not at every start of the binary
// (3 ms of `loom run`'s package initialisation, for a page it never
// shows); pages_test.go parses them all.
var pages = sync.OnceValue(func() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html"))
	names, _ := files.ReadDir("templates")
	out := map[string]*template.Template{}
	for _, e := range names {
		if e.Name() == "layout.html" {
			continue
		}
		out[e.Name()] = template.Must(template.Must(layout.Clone()).ParseFS(files, "templates/"+e.Name()))
	}
	return out
})

// Render writes page name (a file in templates/) with status. Pages are
// never cached: they carry CSRF tokens and personal data.
func Render(w http.ResponseWriter, status int, name string, p Page) {
	t, ok := pages()[name]
	if !ok {
		panic("pages: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		slog.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Fragment renders only the "content" of page name (a file in
// templates/), for another page to include: a section of the account
// page. html/template escaped it, so it is safe to include as it is.
func Fragment(name string, p Page) (template.HTML, error) {
	t, ok := pages()[name]
	if !ok {
		return "", fmt.Errorf("pages: no template %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "content", p); err != nil {
		return "", fmt.Errorf("rendering %s: %w", name, err)
	}
	return template.HTML(buf.String()), nil
}

// Routes serves the stylesheet.
type Routes struct{}

// Routes adds GET /static/loom.css.
func (Routes) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/loom.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(css)
	})
}
