package policy

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/loom-agent/loom/server/web"
)

// Refuse answers a request the authorizer did not allow: 401 to nobody,
// 403 to a principal the policies deny, 404 for ErrHidden, 500 (logged, not told) when the
// decision could not be made.
func Refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		web.Fail(w, http.StatusUnauthorized, "%v", err)
	case errors.Is(err, ErrHidden):
		web.Fail(w, http.StatusNotFound, "not found")
	case errors.Is(err, ErrForbidden):
		web.Fail(w, http.StatusForbidden, "%v", err)
	default:
		slog.ErrorContext(r.Context(), "deciding access", "path", r.URL.Path, "err", err)
		web.Fail(w, http.StatusInternalServerError, "deciding access failed")
	}
}
