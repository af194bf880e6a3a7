package httpapi

import (
	"fmt"
	"net/http"

	"github.com/brigadeplatform/brigade/internal/auth"
)

// completeSession is the OAuth2 callback of a third-party login: the
// provider sends the browser here with the login's state and a code. A
// person reads the answer in a browser, so errors are plain text (as
// Brigade's were); success redirects (301) to where the login was asked
// to end, else to the server's own page.
func (h *handler) completeSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next, userID, err := h.svc.CompleteUserSession(r.Context(), q.Get("state"), q.Get("code"))
	if userID != "" {
		notePrincipal(r.Context(), &auth.Principal{Kind: auth.KindUser, ID: userID})
		noteObjects(r.Context(), "users/"+userID)
	}
	if err != nil {
		noteError(r.Context(), err)
		status, _, _ := classify(err)
		if status == http.StatusInternalServerError {
			h.log.Error("completing a login failed", "error", err)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if status == http.StatusInternalServerError {
			fmt.Fprintln(w, "The login could not be completed because of an error on the server; its log says why. Try again with brig login.")
			return
		}
		fmt.Fprintln(w, err.Error())
		return
	}
	if next == "" {
		next = "/assets/splash.html"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusMovedPermanently)
}

// splashPage tells a person whose login is complete to go back to brig.
const splashPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Brigade: logged in</title></head>
<body style="font-family: sans-serif; margin: 4em auto; max-width: 36em">
<h1>You are logged in</h1>
<p>You may close this page and go back to <code>brig</code>.</p>
</body></html>
`

func splash(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, splashPage)
}
