package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
)

// maxContinue bounds a "continue" cursor: the ones the server hands out
// are ids, numbers and timestamps, far shorter.
const maxContinue = 1024

// checkURLText refuses a path or query whose decoded text is not UTF-8 or
// holds control characters (a NUL, say): no id, name, cursor or selector
// has them, and passing them on would only find nothing, or store them.
func (h *handler) checkURLText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bad := badText(r.URL.Path); bad {
			h.writeError(w, r, core.NewBadRequest("The request path is not valid text",
				"the path holds a byte that is not UTF-8 or a control character; escape only UTF-8 text in it"))
			return
		}
		if r.URL.RawQuery != "" {
			q, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil {
				h.writeError(w, r, core.NewBadRequest("The request's query string is malformed", err.Error()))
				return
			}
			for k, vs := range q {
				for _, v := range vs {
					if badText(k) || badText(v) {
						h.writeError(w, r, core.NewBadRequest("A query parameter is not valid text",
							"the value of "+quoteParam(k)+" holds a byte that is not UTF-8 or a control character"))
						return
					}
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func badText(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// quoteParam names a parameter in a message, without echoing bytes that
// are not text.
func quoteParam(k string) string {
	if badText(k) {
		return "a parameter"
	}
	return "\"" + k + "\""
}
