// Package ui is the server-rendered web UI: the pages and form actions of the owner (sites, dashboard,
// revenue, customers, settings, Stripe, destinations, account), their templates and static files. Its
// forms reuse the management API's operations (api.API), so a change made on a page and one made
// through the API are validated and stored the same way.
package ui

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"

	"github.com/tributary/tributary/web/api"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// UI holds the page handlers, over the management API's operations.
type UI struct {
	*api.API
	tmpl *template.Template
	// Static serves /static/ (style sheet and scripts: the pages run no inline script).
	Static http.Handler
}

// New returns the page handlers; it panics only on programming errors (templates that do not parse).
func New(a *api.API) *UI {
	sub, _ := fs.Sub(staticFS, "static")
	return &UI{API: a, tmpl: parseTemplates(), Static: http.StripPrefix("/static/", http.FileServerFS(sub))}
}
