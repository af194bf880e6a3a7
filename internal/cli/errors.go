package cli

import (
	"context"
	"errors"
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
		return authz.Error()
	case errors.As(err, &notFound):
		return notFound.Error()
	case errors.As(err, &conflict):
		return conflict.Error()
	case errors.As(err, &notSupp):
		return notSupp.Error()
	}
	return err.Error()
}

// withNext appends a next step to a message, as its own sentence.
func withNext(msg, next string) string {
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg + " " + next
}
