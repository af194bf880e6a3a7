package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// jsonType is a set of JSON types, one bit each.
type jsonType uint8

const (
	typeNull jsonType = 1 << iota
	typeBoolean
	typeNumber
	typeString
	typeArray
	typeObject
)

// typeOrder lists the types in the order messages name them.
var typeOrder = [...]struct {
	t    jsonType
	name string
}{
	{typeNull, "null"},
	{typeBoolean, "boolean"},
	{typeNumber, "number"},
	{typeString, "string"},
	{typeArray, "array"},
	{typeObject, "object"},
}

func typeNamed(name string) jsonType {
	for _, e := range typeOrder {
		if e.name == name {
			return e.t
		}
	}
	return 0
}

// names lists the types of the set, "null or object".
func (t jsonType) names() string {
	var s string
	for _, e := range typeOrder {
		if t&e.t != 0 {
			if s != "" {
				s += " or "
			}
			s += e.name
		}
	}
	return s
}

// A value is a parsed JSON value that keeps the order of object members.
type value struct {
	typ     jsonType
	str     string   // string
	members []member // object, in document order, names unique
	index   map[string]int
	items   []*value // array
}

type member struct {
	name string
	val  *value
}

// Objects with more members than this get a map from name to member.
const indexFrom = 16

// get returns the member named name, or nil.
func (v *value) get(name string) *value {
	if v.index != nil {
		if i, ok := v.index[name]; ok {
			return v.members[i].val
		}
		return nil
	}
	for _, m := range v.members {
		if m.name == name {
			return m.val
		}
	}
	return nil
}

// set adds a member; a repeated name keeps its first place and takes the
// last value, as decoding into a map does.
func (v *value) set(name string, val *value) {
	if v.index == nil {
		for i, m := range v.members {
			if m.name == name {
				v.members[i].val = val
				return
			}
		}
	} else if i, ok := v.index[name]; ok {
		v.members[i].val = val
		return
	}
	v.members = append(v.members, member{name, val})
	if v.index != nil {
		v.index[name] = len(v.members) - 1
	} else if len(v.members) > indexFrom {
		v.index = make(map[string]int, 2*len(v.members))
		for i, m := range v.members {
			v.index[m.name] = i
		}
	}
}

var errTrailing = errors.New("data after the top-level value")

// parse reads one JSON document. Strings are decoded as encoding/json
// decodes them (invalid UTF-8 becomes U+FFFD). It scans the bytes itself:
// encoding/json's token reader cost ~11 µs and 146 allocations for an
// event's body, on the path of every request that is validated.
func parse(body []byte) (*value, error) {
	p := parser{b: body}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, errTrailing
	}
	return v, nil
}

// maxDepth bounds the nesting parse follows (encoding/json's own limit).
const maxDepth = 10000

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) fail(what string) error {
	if p.i >= len(p.b) {
		return fmt.Errorf("unexpected end of JSON input, wanted %s", what)
	}
	return fmt.Errorf("unexpected %q at offset %d, wanted %s", p.b[p.i], p.i, what)
}

func (p *parser) value(depth int) (*value, error) {
	if depth > maxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	p.space()
	if p.i >= len(p.b) {
		return nil, p.fail("a value")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		v := &value{typ: typeObject}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return v, nil
		}
		for {
			p.space()
			name, err := p.string()
			if err != nil {
				return nil, err
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, p.fail("':'")
			}
			p.i++
			val, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v.set(name, val)
			p.space()
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.b) && p.b[p.i] == '}' {
				p.i++
				return v, nil
			}
			return nil, p.fail("',' or '}'")
		}
	case c == '[':
		p.i++
		v := &value{typ: typeArray}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return v, nil
		}
		for {
			item, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, item)
			p.space()
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.b) && p.b[p.i] == ']' {
				p.i++
				return v, nil
			}
			return nil, p.fail("',' or ']'")
		}
	case c == '"':
		str, err := p.string()
		if err != nil {
			return nil, err
		}
		return &value{typ: typeString, str: str}, nil
	case c == 't':
		return p.literal("true", typeBoolean)
	case c == 'f':
		return p.literal("false", typeBoolean)
	case c == 'n':
		return p.literal("null", typeNull)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, p.fail("a value")
}

func (p *parser) literal(word string, t jsonType) (*value, error) {
	if !bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		return nil, p.fail(word)
	}
	p.i += len(word)
	return &value{typ: t}, nil
}

// number skips a number as JSON spells it.
func (p *parser) number() (*value, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case digits() == 0:
		return nil, p.fail("a digit")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("a digit")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("a digit")
		}
	}
	if p.i == start {
		return nil, p.fail("a number")
	}
	return &value{typ: typeNumber}, nil
}

// string reads a string at p.i. One without escapes or bytes that are not
// UTF-8 is its bytes; any other is decoded by encoding/json, so that
// escapes and invalid bytes come out exactly as they do there.
func (p *parser) string() (string, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", p.fail("a string")
	}
	start := p.i
	plain := true
	for p.i++; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			raw := p.b[start+1 : p.i-1]
			if plain && utf8.Valid(raw) {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return "", err
			}
			return s, nil
		case c == '\\':
			plain = false
			p.i++ // the escaped byte cannot end the string
		case c < 0x20:
			return "", p.fail("a character of a string")
		}
	}
	return "", p.fail("the end of a string")
}
