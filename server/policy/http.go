package policy

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/loom-agent/loom/server/web"
)

// Status is the HTTP status of an authorizer's error: 401 to nobody, 403
// to a principal the policies deny, 404 for ErrHidden, 500 when the
// decision could not be made.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrHidden):
		return http.StatusNotFound
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}

// Refuse answers a request the authorizer did not allow with its Status;
// a decision that could not be made is logged, not told.
func Refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch code := Status(err); code {
	case http.StatusNotFound:
		web.Fail(w, code, "not found")
	case http.StatusInternalServerError:
		slog.ErrorContext(r.Context(), "deciding access", "path", r.URL.Path, "err", err)
		web.Fail(w, code, "deciding access failed")
	default:
		web.Fail(w, code, "%v", err)
	}
}
