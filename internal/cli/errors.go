package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
)

// describe turns an error into the sentence brig prints after "brig: ".
// Brigade's typed API errors become readable sentences; anything else is
// printed as it is.
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
		var b strings.Builder
		b.WriteString("The server refused the request")
		if bad.Reason != "" {
			b.WriteString(": " + sentence(bad.Reason))
		} else {
			b.WriteString(".")
		}
		for _, d := range bad.Details {
			b.WriteString("\n  - " + d)
		}
		return b.String()
	case errors.As(err, &authn):
		msg := "Authentication failed"
		if authn.Reason != "" {
			msg += ": " + strings.TrimSuffix(authn.Reason, ".")
		}
		return msg + ". Your session may have expired: run `brig login -s <server> --root` again."
	case errors.As(err, &authz):
		if authz.Reason != "" {
			return "Not allowed: " + sentence(authz.Reason)
		}
		return "Not allowed: your login lacks the role this needs."
	case errors.As(err, &notFound):
		if notFound.Type != "" && notFound.ID != "" {
			return fmt.Sprintf("%s %q not found.", notFound.Type, notFound.ID)
		}
		if notFound.Reason != "" {
			return sentence(notFound.Reason)
		}
		return "Not found."
	case errors.As(err, &conflict):
		if conflict.Reason != "" {
			return sentence(conflict.Reason)
		}
		return fmt.Sprintf("%s %q conflicts with its current state.", conflict.Type, conflict.ID)
	case errors.As(err, &notSupp):
		return "Not supported by this server: " + sentence(notSupp.Reason)
	}
	return err.Error()
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}
