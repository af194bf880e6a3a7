package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// decodes them (invalid UTF-8 becomes U+FFFD).
func parse(body []byte) (*value, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	v, err := parseValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return v, nil
}

func parseValue(d *json.Decoder) (*value, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &value{typ: typeNull}, nil
	case bool:
		return &value{typ: typeBoolean}, nil
	case json.Number:
		return &value{typ: typeNumber}, nil
	case string:
		return &value{typ: typeString, str: t}, nil
	case json.Delim:
		switch t {
		case '{':
			v := &value{typ: typeObject}
			for d.More() {
				tok, err := d.Token()
				if err != nil {
					return nil, err
				}
				name, ok := tok.(string)
				if !ok {
					return nil, fmt.Errorf("object member name is %v", tok)
				}
				val, err := parseValue(d)
				if err != nil {
					return nil, err
				}
				v.set(name, val)
			}
			if _, err := d.Token(); err != nil { // '}'
				return nil, err
			}
			return v, nil
		case '[':
			v := &value{typ: typeArray}
			for d.More() {
				item, err := parseValue(d)
				if err != nil {
					return nil, err
				}
				v.items = append(v.items, item)
			}
			if _, err := d.Token(); err != nil { // ']'
				return nil, err
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}
