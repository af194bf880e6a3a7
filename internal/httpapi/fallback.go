package httpapi

import (
	"net/http"
	"strings"
)

// routeMethods are the methods the API serves on some path.
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}

// fallback answers what mux has no route for with Brigade's JSON error
// body instead of Go's plain text (which Brigade's SDKs cannot decode): 404
// for a path the API does not serve, 405 with an Allow header for a path
// served with other methods.
func (h *handler) fallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allowed []string
		for _, m := range routeMethods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) == 0 {
			b, _ := enveloped("NotFoundError", map[string]string{
				"reason": "This server serves no endpoint at " + r.Method + " " + r.URL.Path +
					". Check the API address, and that the client speaks Brigade's v2 API.",
			})
			writeRaw(w, http.StatusNotFound, b)
			return
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		b, _ := enveloped("MethodNotAllowedError", map[string]string{
			"reason": r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allowed, ", ") + ".",
		})
		writeRaw(w, http.StatusMethodNotAllowed, b)
	})
}
