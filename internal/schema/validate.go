package schema

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A validator checks one value against a node and collects one line per
// violation: where in the body it is ("(root)" or a dotted path) and what is
// wrong. The wording is the one Brigade has always sent (clients and tests
// match on it): "missing property 'kind'", "value must be one of ...",
// "additional properties 'a', 'b' not allowed", "minLength: got 2, want 5".
type validator struct {
	path  []string
	lines []string
	quiet bool // only whether there is a violation matters
	bad   bool
}

func (v *validator) fail(msg string) {
	v.bad = true
	if v.quiet {
		return
	}
	loc := "(root)"
	if len(v.path) > 0 {
		loc = strings.Join(v.path, ".")
	}
	v.lines = append(v.lines, loc+": "+msg)
}

// details returns the violations sorted, each once.
func (v *validator) details() []string {
	slices.Sort(v.lines)
	return slices.Compact(v.lines)
}

// check validates x against n, in draft-07's order: a wrong type, a value
// outside the enum or a bad format is the only violation reported for x;
// otherwise every keyword is checked and every violation reported.
func (v *validator) check(n *node, x *value) {
	for n.ref != nil {
		n = n.ref
	}
	if n.types != 0 && n.types&x.typ == 0 {
		v.fail("got " + x.typ.names() + ", want " + n.types.names())
		return
	}
	if n.enum != nil && (x.typ != typeString || !slices.Contains(n.enum, x.str)) {
		v.fail(enumMessage(n.enum))
		return
	}
	if n.format != "" && x.typ == typeString {
		if reason := checkDateTime(x.str); reason != "" {
			v.fail(quote(x.str) + " is not valid " + n.format + ": " + reason)
			return
		}
	}
	switch x.typ {
	case typeObject:
		v.checkObject(n, x)
	case typeArray:
		v.checkArray(n, x)
	case typeString:
		v.checkString(n, x.str)
	}
	if n.not != nil && v.passes(n.not, x) {
		v.fail("'not' failed")
	}
	for _, sub := range n.allOf {
		v.check(sub, x)
	}
}

// passes reports whether x is valid against n, reporting nothing.
func (v *validator) passes(n *node, x *value) bool {
	q := validator{quiet: true}
	q.check(n, x)
	return !q.bad
}

func (v *validator) checkObject(n *node, x *value) {
	var missing []string
	for _, name := range n.required {
		if x.get(name) == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 1 {
		v.fail("missing property " + quote(missing[0]))
	} else if len(missing) > 1 {
		v.fail("missing properties " + quoteList(missing))
	}
	var extra []string
	for _, m := range x.members {
		sub := n.properties[m.name]
		if sub == nil {
			if n.noAdditional {
				extra = append(extra, m.name)
				continue
			}
			sub = n.additional
		}
		if sub != nil {
			v.path = append(v.path, m.name)
			v.check(sub, m.val)
			v.path = v.path[:len(v.path)-1]
		}
	}
	if len(extra) > 0 {
		v.fail("additional properties " + quoteList(extra) + " not allowed")
	}
	if n.propertyNames != nil {
		// A name is checked as a string of its own; what is wrong with it
		// is reported where the object is.
		for _, m := range x.members {
			v.check(n.propertyNames, &value{typ: typeString, str: m.name})
		}
	}
}

func (v *validator) checkArray(n *node, x *value) {
	if n.minItems >= 0 && len(x.items) < n.minItems {
		v.fail("minItems: got " + number(len(x.items)) + ", want " + number(n.minItems))
	}
	if n.items != nil {
		for i, item := range x.items {
			v.path = append(v.path, strconv.Itoa(i))
			v.check(n.items, item)
			v.path = v.path[:len(v.path)-1]
		}
	}
}

func (v *validator) checkString(n *node, s string) {
	if n.minLength >= 0 || n.maxLength >= 0 {
		l := utf8.RuneCountInString(s)
		if n.minLength >= 0 && l < n.minLength {
			v.fail("minLength: got " + number(l) + ", want " + number(n.minLength))
		}
		if n.maxLength >= 0 && l > n.maxLength {
			v.fail("maxLength: got " + number(l) + ", want " + number(n.maxLength))
		}
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		v.fail(quote(s) + " does not match pattern " + quote(n.pattern.String()))
	}
}

func enumMessage(enum []string) string {
	if len(enum) == 1 {
		return "value must be " + quote(enum[0])
	}
	return "value must be one of " + quoteList(enum)
}

// quote writes s as messages show strings: in single quotes, escaped as a
// Go string literal would be, but with double quotes bare and single quotes
// escaped. (The replacements run over the double-quoted literal, quotes
// included, so a trailing backslash shows once: that is the wording clients
// have always seen.)
func quote(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, `\"`, `"`)
	q = strings.ReplaceAll(q, `'`, `\'`)
	return "'" + q[1:len(q)-1] + "'"
}

func quoteList(list []string) string {
	var b strings.Builder
	for i, s := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(s))
	}
	return b.String()
}

// number writes a non-negative count with thousands separators: 4,096.
func number(n int) string {
	s := strconv.Itoa(n)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead == 0 {
		lead = 3
	}
	b.WriteString(s[:lead])
	for i := lead; i < len(s); i += 3 {
		b.WriteByte(',')
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
