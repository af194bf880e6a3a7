package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/brigadeplatform/brigade/internal/core"
)

// ReasonNotUTF8 is the reason of a body whose strings hold bytes that are
// not UTF-8. Go's decoder would quietly replace them with U+FFFD, so the
// server would store something other than what was sent; it refuses them.
const ReasonNotUTF8 = "Request body is not valid UTF-8"

// checkUTF8 refuses a well-formed JSON body with bytes that are not UTF-8,
// naming the string that holds the first of them.
func checkUTF8(body []byte) error {
	if utf8.Valid(body) {
		return nil
	}
	off := firstInvalidUTF8(body)
	where, key := locateString(body, off)
	what := "the string"
	if key {
		what = "a property name"
	}
	return core.NewBadRequest(ReasonNotUTF8, fmt.Sprintf(
		"%s: %s holds a byte that is not UTF-8 (at offset %d of the body); encode the text as UTF-8",
		where, what, off))
}

// firstInvalidUTF8 is the offset of the first byte of b that does not start
// a valid UTF-8 sequence.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// container is an object or array being walked by locateString.
type container struct {
	object    bool
	wantKey   bool   // object: the next string is a property name
	key       string // object: the current property
	index     int    // array: the current item, -1 before the first
	component string // where this container's current child is
}

// locateString walks the well-formed JSON body to the string containing
// the byte at off and returns its location in the validator's notation
// ("(root)", "spec.workerTemplate.logLevel", "items.0") and whether the
// string is a property name (then the location is its object's).
func locateString(body []byte, off int) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	var stack []*container
	path := func(upTo int) string {
		parts := make([]string, 0, upTo)
		for _, c := range stack[:upTo] {
			parts = append(parts, c.component)
		}
		if len(parts) == 0 {
			return "(root)"
		}
		return strings.Join(parts, ".")
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return "(root)", false
		}
		passed := d.InputOffset() > int64(off)
		var top *container
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.object && top.wantKey {
			if passed {
				return path(len(stack) - 1), true
			}
			top.key, top.component, top.wantKey = s, s, false
			continue
		}
		if delim, ok := tok.(json.Delim); ok && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		// A value.
		if top != nil && !top.object {
			top.index++
			top.component = strconv.Itoa(top.index)
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &container{object: true, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &container{index: -1})
			continue
		}
		if _, ok := tok.(string); ok && passed {
			return path(len(stack)), false
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}
