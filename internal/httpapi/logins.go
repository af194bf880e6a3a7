package httpapi

import (
	"fmt"
	"net/http"

	"github.com/brigadeplatform/brigade/internal/core"
)

// takeLoginToken charges a login attempt to the client's address (see
// Options.LoginLimiter). When the client has none left it answers 429 and
// reports false; otherwise it returns the function that gives the token
// back, for an attempt that succeeded.
func (h *handler) takeLoginToken(w http.ResponseWriter, r *http.Request) (refund func(), ok bool) {
	l := h.opts.LoginLimiter
	if l == nil {
		return func() {}, true
	}
	client := clientHost(r)
	if ok, wait := l.Take(client); !ok {
		h.writeError(w, r, &core.TooManyRequestsError{RetryAfter: wait, Reason: fmt.Sprintf(
			"Too many failed login attempts from %s. Try again in %s.", client, wait)})
		return nil, false
	}
	return func() { l.Refund(client) }, true
}
