package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// describe turns an error into the sentence brig prints after "brig: ".
// Brigade's typed API errors print as Brigade's brig prints them (the
// error's own text, whatever the CLI wrapped around it), so both CLIs say
// the same thing; brig adds what to do next where the text does not say
// it. Anything else is printed as it is.
func describe(err error) string {
	var (
		bad      *core.BadRequestError
		authn    *core.AuthenticationError
		authz    *core.AuthorizationError
		notFound *core.NotFoundError
		conflict *core.ConflictError
		notSupp  *core.NotSupportedError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return errInterrupted.Error()
	case errors.As(err, &bad):
		return bad.Error()
	case errors.As(err, &authn):
		if strings.Contains(strings.ToLower(authn.Reason), "log in") {
			return authn.Error()
		}
		return withNext(authn.Error(), "Log in again with `brig login -s <server> --root`.")
	case errors.As(err, &authz):
		return withNext(authz.Error(), grantHint)
	case errors.As(err, &notFound):
		if c, ok := listCommands[kindNoun(notFound.Type)]; ok {
			return withNext(notFound.Error(), "`"+c+"` shows what exists.")
		}
		return notFound.Error()
	case errors.As(err, &conflict):
		return conflict.Error()
	case errors.As(err, &notSupp):
		return notSupp.Error()
	}
	if msg, ok := unreachable(err); ok {
		return msg
	}
	return err.Error()
}

// unreachable words a failure to reach the server at all.
func unreachable(err error) (string, bool) {
	var uerr *url.Error
	var operr *net.OpError
	if !errors.As(err, &uerr) || !errors.As(err, &operr) {
		return "", false
	}
	server := uerr.URL
	if u, perr := url.Parse(uerr.URL); perr == nil {
		server = u.Scheme + "://" + u.Host
	}
	return fmt.Sprintf("cannot reach the Brigade API server at %s (%v). Is it running? "+
		"Point brig at another with `brig login -s URL` or %s.", server, operr.Err, envServer), true
}

// withNext appends a next step to a message, as its own sentence.
func withNext(msg, next string) string {
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg + " " + next
}

// grantHint follows a refusal: who you are, and how roles are granted.
const grantHint = "`brig whoami` shows who brig is logged in as; an administrator can grant a role " +
	"with `brig role grant` or `brig project role grant`."
