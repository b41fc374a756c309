package device

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/auth/ratelimit"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/web"
)

// maxForm bounds the endpoints' forms.
const maxForm = 16 << 10

// GrantType is the token request's grant_type (RFC 8628 §3.4).
const GrantType = "urn:ietf:params:oauth:grant-type:device_code"

// Handlers serves the device flow's endpoints and approval page.
type Handlers struct {
	codes  *Codes
	web    *session.Web
	public string
	log    *slog.Logger
	// starts limits new codes per client address; lookups limits user
	// codes tried per signed-in user (guessing them).
	starts  *ratelimit.Limiter
	lookups *ratelimit.Limiter
}

// NewHandlers returns the handlers over codes; publicURL is where the
// approval page is (verification_uri).
func NewHandlers(codes *Codes, wb *session.Web, publicURL string, log *slog.Logger) *Handlers {
	if log == nil {
		log = slog.Default()
	}
	return &Handlers{codes: codes, web: wb, public: strings.TrimSuffix(publicURL, "/"), log: log,
		starts:  ratelimit.New(time.Minute, 10, 10000),
		lookups: ratelimit.New(time.Minute, 10, 10000)}
}

// Routes adds the device flow.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/device/code", h.start)
	mux.HandleFunc("POST /api/v1/device/token", h.token)
	mux.Handle("GET /device", h.web.RequirePage(http.HandlerFunc(h.page)))
	mux.Handle("POST /device", h.web.RequirePage(http.HandlerFunc(h.decide)))
}

// oauthError is an error answer of RFC 6749 §5.2.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func fail(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="loom"`)
	}
	web.JSON(w, status, oauthError{Error: code, Description: desc})
}

// form reads an application/x-www-form-urlencoded body (RFC 8628 §3.1,
// §3.4).
func form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		fail(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		fail(w, http.StatusBadRequest, "invalid_request", "reading the form: "+err.Error())
		return nil, false
	}
	if r.PostForm.Get("client_id") != ClientID {
		fail(w, http.StatusUnauthorized, ErrBadClient, "unknown client_id: the one client is "+ClientID)
		return nil, false
	}
	return r.PostForm, true
}

func (h *Handlers) start(w http.ResponseWriter, r *http.Request) {
	if !h.starts.Allow(web.ClientOf(r).IP.String()) {
		w.Header().Set("Retry-After", "60")
		fail(w, http.StatusTooManyRequests, "slow_down", "too many sign-ins started from this address")
		return
	}
	if _, ok := form(w, r); !ok {
		return
	}
	c, err := h.codes.Start(r.Context(), ClientID)
	if err != nil {
		h.log.Error("starting a device sign-in", "err", err)
		web.Fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{
		"device_code":               c.DeviceCode,
		"user_code":                 c.UserCode,
		"verification_uri":          h.public + "/device",
		"verification_uri_complete": h.public + "/device?user_code=" + url.QueryEscape(c.UserCode),
		"expires_in":                int(c.ExpiresIn.Seconds()),
		"interval":                  int(c.Interval.Seconds()),
	})
}

func (h *Handlers) token(w http.ResponseWriter, r *http.Request) {
	f, ok := form(w, r)
	if !ok {
		return
	}
	if f.Get("grant_type") != GrantType {
		fail(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be "+GrantType)
		return
	}
	token, code, err := h.codes.Poll(r.Context(), f.Get("device_code"), r.UserAgent(), web.ClientOf(r).IP.String())
	if err != nil {
		h.log.Error("polling a device code", "err", err)
		web.Fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	if code != "" {
		fail(w, http.StatusBadRequest, code, "")
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(session.CLILimits.Idle.Seconds()),
	})
}

type pageData struct {
	UserCode   string
	ClientName string
	Approved   bool
}

// page asks for the user code or, given one that is waiting, asks to
// approve it.
func (h *Handlers) page(w http.ResponseWriter, r *http.Request) {
	typed := r.URL.Query().Get("user_code")
	if typed == "" {
		pages.Render(w, http.StatusOK, "device.html", h.web.Page(r, "Sign in a command line", pageData{}))
		return
	}
	p := h.web.Page(r, "Sign in a command line", pageData{UserCode: typed})
	if !h.lookups.Allow(auth.From(r.Context()).UserID) {
		w.Header().Set("Retry-After", "60")
		p.Error = "Too many codes tried: wait a minute."
		pages.Render(w, http.StatusTooManyRequests, "device.html", p)
		return
	}
	pending, err := h.codes.Find(r.Context(), typed)
	if err != nil {
		if !errors.Is(err, ErrNoCode) {
			h.log.Error("device page", "err", err)
		}
		p.Error = ErrNoCode.Error()
		pages.Render(w, http.StatusNotFound, "device.html", p)
		return
	}
	p.Data = pageData{UserCode: pending.UserCode, ClientName: pending.ClientName}
	pages.Render(w, http.StatusOK, "device_confirm.html", p)
}

func (h *Handlers) decide(w http.ResponseWriter, r *http.Request) {
	approve := r.PostFormValue("action") == "approve"
	if !approve && r.PostFormValue("action") != "deny" {
		web.Fail(w, http.StatusBadRequest, "action must be approve or deny")
		return
	}
	p := h.web.Page(r, "Sign in a command line", pageData{Approved: approve})
	if !h.lookups.Allow(auth.From(r.Context()).UserID) {
		w.Header().Set("Retry-After", "60")
		p.Error = "Too many codes tried: wait a minute."
		p.Data = pageData{}
		pages.Render(w, http.StatusTooManyRequests, "device.html", p)
		return
	}
	err := h.codes.Decide(r.Context(), r.PostFormValue("user_code"), auth.From(r.Context()).UserID, approve)
	if err != nil {
		if !errors.Is(err, ErrNoCode) {
			h.log.Error("deciding a device code", "err", err)
		}
		p.Error = ErrNoCode.Error()
		p.Data = pageData{}
		pages.Render(w, http.StatusNotFound, "device.html", p)
		return
	}
	pages.Render(w, http.StatusOK, "device_done.html", p)
}
