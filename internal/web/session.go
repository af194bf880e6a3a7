package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// Cookies: the session's bearer token (HttpOnly: no script reads it), and
// before sign-in the value the sign-in form must echo (login CSRF).
const (
	sessionCookie = "brigade_session"
	signinCookie  = "brigade_signin"
	csrfField     = "csrf"
)

type ctxKey int

const tokenKey ctxKey = 1

// csrfFor derives a session's CSRF token from its bearer token: only a
// page that holds the (HttpOnly) cookie's value, which is to say a page
// this server rendered, knows it.
func csrfFor(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("brigade dashboard csrf"))
	return hex.EncodeToString(m.Sum(nil))[:40]
}

func csrfOf(r *http.Request) string {
	tok, _ := r.Context().Value(tokenKey).(string)
	if tok == "" {
		return ""
	}
	return csrfFor(tok)
}

// cookie builds a cookie the way every dashboard cookie is: HttpOnly,
// SameSite=Strict, Secure with TLS, for the whole site.
func (d *Dashboard) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: d.opts.Secure, MaxAge: maxAge}
}

// authed resolves the session cookie into the principal, as the API's
// bearer token would be, and checks every POST's CSRF token and origin.
// A page without a session goes to the sign-in page and back.
func (d *Dashboard) authed(fn func(w http.ResponseWriter, r *http.Request, p *auth.Principal)) http.Handler {
	return d.recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := detached(r)
		var p *auth.Principal
		c, err := r.Cookie(sessionCookie)
		if err == nil && c.Value != "" {
			p, err = d.svc.Authenticate(ctx, c.Value)
		} else {
			err = &core.AuthenticationError{Reason: "You are not signed in."}
		}
		if err != nil {
			if c != nil {
				http.SetCookie(w, d.cookie(sessionCookie, "", -1))
			}
			if status, _ := classify(err); status != http.StatusUnauthorized {
				d.fail(w, r, nil, err)
				return
			}
			if r.Method == http.MethodGet && !isStream(r) {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			d.fail(w, r, nil, err)
			return
		}
		ctx = context.WithValue(auth.With(ctx, p), tokenKey, c.Value)
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost {
			if err := d.checkPost(w, r, csrfFor(c.Value)); err != nil {
				d.fail(w, r, p, err)
				return
			}
		}
		fn(w, r, p)
	}))
}

// checkPost limits a form's size, then refuses a POST from another origin
// or without the page's CSRF token.
func (d *Dashboard) checkPost(w http.ResponseWriter, r *http.Request, want string) error {
	r.Body = http.MaxBytesReader(w, r.Body, d.opts.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		return core.NewBadRequest(fmt.Sprintf("The form could not be read (%v); it may be larger than %d bytes.", err, d.opts.MaxBodyBytes))
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return &core.AuthorizationError{Reason: "the form was sent from another site (" + o + "); use the dashboard's own pages"}
		}
	}
	got := r.PostForm.Get(csrfField)
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return &core.AuthorizationError{Reason: "the form's security token is missing or stale; reload the page and try again"}
	}
	return nil
}

func isStream(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/live") || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// safeNext keeps a redirect after sign-in on this site: a path, not
// another origin.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

type signinView struct {
	Next, Error, Form string
	Provider          string // the third-party login offered, if any
}

// signinPage shows the password form, or redeems a sign-in code from
// brig dashboard.
func (d *Dashboard) signinPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if code := r.URL.Query().Get("code"); code != "" {
		d.redeem(w, r, code, next)
		return
	}
	if r.URL.Query().Get("done") != "" {
		// Back from the identity provider: move on from this site's own
		// page, so that the browser sends the SameSite=Strict cookie.
		d.render(w, http.StatusOK, "signin", view{Title: "Signed in", Data: signinView{Next: next}})
		return
	}
	d.render(w, http.StatusOK, "signin", view{Title: "Sign in", Data: signinView{Next: next, Form: d.newSigninForm(w),
		Provider: d.opts.ThirdPartyLogin}})
}

// redeem trades a one-time code for a session. The answer is a page that
// moves on by itself, not a redirect, so that the browser sends the new
// SameSite=Strict cookie with the next request even when the sign-in link
// was opened from another application.
func (d *Dashboard) redeem(w http.ResponseWriter, r *http.Request, code, next string) {
	tok, err := d.svc.RedeemSignInCode(context.WithoutCancel(r.Context()), code)
	d.record(r, nil, "GET /signin?code", "sessions", err)
	if err != nil {
		d.render(w, http.StatusUnauthorized, "signin", view{Title: "Sign in", Data: signinView{Next: next, Error: err.Error(),
			Form: d.newSigninForm(w), Provider: d.opts.ThirdPartyLogin}})
		return
	}
	http.SetCookie(w, d.cookie(sessionCookie, tok.Value, 0))
	d.render(w, http.StatusOK, "signin", view{Title: "Signed in", Data: signinView{Next: next}})
}

func (d *Dashboard) newSigninForm(w http.ResponseWriter) string {
	form := auth.NewToken()[:32]
	http.SetCookie(w, d.cookie(signinCookie, form, 600))
	return form
}

// signin checks the root password, as POST /v2/sessions?root=true does,
// under the same limit of failed attempts.
func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ctx := context.WithoutCancel(r.Context())
	again := func(status int, msg string) {
		d.render(w, status, "signin", view{Title: "Sign in", Data: signinView{
			Next: safeNext(r.PostFormValue("next")), Error: msg, Form: d.newSigninForm(w), Provider: d.opts.ThirdPartyLogin}})
	}
	if !d.signinFormOK(w, r, again) {
		return
	}
	tok, err := d.svc.CreateRootSession(ctx, "root", r.PostForm.Get("password"), true)
	d.record(r, nil, "POST /signin", "sessions", err)
	if err != nil {
		status, msg := classify(err)
		again(status, msg)
		return
	}
	if l := d.opts.LoginLimiter; l != nil {
		l.Refund(clientHost(r))
	}
	http.SetCookie(w, d.cookie(signinCookie, "", -1))
	http.SetCookie(w, d.cookie(sessionCookie, tok.Value, 0))
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// signinFormOK reads the sign-in form, checks that this site made it,
// and charges the attempt to the client's address; otherwise it shows
// the form again and reports false.
func (d *Dashboard) signinFormOK(w http.ResponseWriter, r *http.Request, again func(int, string)) bool {
	if err := r.ParseForm(); err != nil {
		again(http.StatusBadRequest, "The form could not be read; try again.")
		return false
	}
	c, err := r.Cookie(signinCookie)
	if err != nil || c.Value == "" || !hmac.Equal([]byte(c.Value), []byte(r.PostForm.Get("form"))) {
		again(http.StatusForbidden, "The sign-in form was stale or came from another site; try again.")
		return false
	}
	if l := d.opts.LoginLimiter; l != nil {
		if ok, wait := l.Take(clientHost(r)); !ok {
			again(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins from %s. Try again in %s.", clientHost(r), wait))
			return false
		}
	}
	return true
}

// signinWithProvider starts a third-party login, as POST /v2/sessions
// does: the new session's token goes in the cookie at once and works once
// the person has logged in at the provider, which sends the browser back
// through the API's callback to /signin?done=1.
func (d *Dashboard) signinWithProvider(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	again := func(status int, msg string) {
		d.render(w, status, "signin", view{Title: "Sign in", Data: signinView{
			Next: safeNext(r.PostFormValue("next")), Error: msg, Form: d.newSigninForm(w), Provider: d.opts.ThirdPartyLogin}})
	}
	if !d.signinFormOK(w, r, again) {
		return
	}
	scheme := "http://"
	if d.opts.Secure {
		scheme = "https://"
	}
	back := scheme + r.Host + "/signin?" + url.Values{"done": {"1"}, "next": {safeNext(r.PostForm.Get("next"))}}.Encode()
	details, err := d.svc.CreateUserSession(context.WithoutCancel(r.Context()), back)
	d.record(r, nil, "POST /signin/provider", "sessions", err)
	if err != nil {
		status, msg := classify(err)
		again(status, msg)
		return
	}
	http.SetCookie(w, d.cookie(signinCookie, "", -1))
	http.SetCookie(w, d.cookie(sessionCookie, details.Token, 0))
	http.Redirect(w, r, details.AuthURL, http.StatusSeeOther)
}

// signout ends the session (as DELETE /v2/session) and the cookie.
func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	err := d.svc.DeleteSession(r.Context())
	d.record(r, p, "POST /signout", "sessions", err)
	if err != nil && !core.IsNotFound(err) {
		d.fail(w, r, p, err)
		return
	}
	http.SetCookie(w, d.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
