package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A node is one compiled (sub)schema. It knows only the draft-07 keywords
// Brigade's schema files use; compiling a file that uses any other keyword
// fails, so a schema can not silently mean less than it says.
type node struct {
	ref *node // $ref: the node stands for its target and has no other keyword

	types  jsonType // type: the allowed types, 0 for any
	enum   []string // enum: only strings are supported
	format string   // format: only "date-time" is supported

	// Objects.
	required      []string
	properties    map[string]*node
	additional    *node // additionalProperties as a schema
	noAdditional  bool  // additionalProperties: false
	propertyNames *node

	// Arrays.
	items    *node
	minItems int // -1 when absent

	// Strings.
	minLength, maxLength int // in runes, -1 when absent
	pattern              *regexp.Regexp

	// Applicators on the same value.
	not   *node
	allOf []*node
}

// A compiler turns the embedded schema files into nodes. A file is named by
// its $id, which is its file name; references are "file#pointer",
// "#pointer" (within the same file) or a bare file name.
type compiler struct {
	docs     map[string]map[string]any // parsed files by name
	nodes    map[string]*node          // compiled nodes by "file#pointer"
	patterns map[string]*regexp.Regexp // compiled patterns by source
}

func newCompiler(files map[string][]byte) (*compiler, error) {
	c := &compiler{
		docs:     map[string]map[string]any{},
		nodes:    map[string]*node{},
		patterns: map[string]*regexp.Regexp{},
	}
	for name, b := range files {
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("parsing embedded schema %s: %w", name, err)
		}
		if id, _ := doc["$id"].(string); id != name {
			return nil, fmt.Errorf("embedded schema %s has $id %q, want its file name", name, id)
		}
		if s, _ := doc["$schema"].(string); s != "http://json-schema.org/draft-07/schema#" {
			return nil, fmt.Errorf("embedded schema %s is not draft-07 ($schema %q)", name, s)
		}
		c.docs[name] = doc
	}
	return c, nil
}

// compile returns the node for the schema at pointer ptr ("" or
// "/definitions/name/...") in file.
func (c *compiler) compile(file, ptr string) (*node, error) {
	key := file + "#" + ptr
	if n, ok := c.nodes[key]; ok {
		return n, nil // compiled, or being compiled higher up a reference cycle
	}
	doc, ok := c.docs[file]
	if !ok {
		return nil, fmt.Errorf("no schema file %q", file)
	}
	raw, err := resolvePointer(doc, ptr)
	if err != nil {
		return nil, err
	}
	n := &node{}
	c.nodes[key] = n
	if err := c.fill(n, raw, file, ptr); err != nil {
		if _, nested := err.(*schemaError); nested {
			return nil, err
		}
		return nil, &schemaError{key, err}
	}
	return n, nil
}

// A schemaError names the (sub)schema that can not be compiled.
type schemaError struct {
	where string
	err   error
}

func (e *schemaError) Error() string { return e.where + ": " + e.err.Error() }

// resolvePointer follows a JSON pointer from the root of doc to a schema.
func resolvePointer(doc map[string]any, ptr string) (map[string]any, error) {
	if ptr == "" {
		return doc, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("unsupported JSON pointer %q", ptr)
	}
	var cur any = doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("JSON pointer %q: no item %q", ptr, tok)
			}
			cur = c[i]
		default:
			cur = nil
		}
	}
	s, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("JSON pointer %q does not lead to a schema object", ptr)
	}
	return s, nil
}

// sub compiles the subschema at the given keyword path below ptr.
func (c *compiler) sub(raw any, file, ptr string, path ...string) (*node, error) {
	if _, ok := raw.(map[string]any); !ok {
		return nil, fmt.Errorf("%s/%s: a schema must be an object", ptr, strings.Join(path, "/"))
	}
	for _, p := range path {
		ptr += "/" + strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
	}
	return c.compile(file, ptr)
}

func (c *compiler) fill(n *node, raw map[string]any, file, ptr string) error {
	n.minItems, n.minLength, n.maxLength = -1, -1, -1
	if ref, ok := raw["$ref"]; ok {
		s, ok := ref.(string)
		if !ok {
			return fmt.Errorf("$ref must be a string")
		}
		if len(raw) != 1 {
			return fmt.Errorf("$ref must be the only keyword of its schema")
		}
		target, frag, _ := strings.Cut(s, "#")
		if target == "" {
			target = file
		}
		t, err := c.compile(target, frag)
		if err != nil {
			return err
		}
		for r := t; r != nil; r = r.ref {
			if r == n {
				return fmt.Errorf("$ref %q leads back to itself", s)
			}
		}
		n.ref = t
		return nil
	}
	for kw, v := range raw {
		var err error
		switch kw {
		case "$schema", "$id", "definitions":
			if ptr != "" {
				err = fmt.Errorf("%s is only supported at the root of a file", kw)
			}
		case "type":
			n.types, err = compileTypes(v)
		case "enum":
			n.enum, err = stringList(v)
		case "format":
			if v != "date-time" {
				err = fmt.Errorf("unsupported format %v", v)
			}
			n.format = "date-time"
		case "required":
			n.required, err = stringList(v)
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("properties must be an object")
			}
			n.properties = make(map[string]*node, len(props))
			for name, p := range props {
				if n.properties[name], err = c.sub(p, file, ptr, "properties", name); err != nil {
					return err
				}
			}
		case "additionalProperties":
			if b, ok := v.(bool); ok {
				n.noAdditional = !b
			} else {
				n.additional, err = c.sub(v, file, ptr, kw)
			}
		case "propertyNames":
			n.propertyNames, err = c.sub(v, file, ptr, kw)
		case "items":
			n.items, err = c.sub(v, file, ptr, kw)
		case "minItems":
			n.minItems, err = count(v)
		case "minLength":
			n.minLength, err = count(v)
		case "maxLength":
			n.maxLength, err = count(v)
		case "pattern":
			n.pattern, err = c.compilePattern(v)
		case "not":
			n.not, err = c.sub(v, file, ptr, kw)
		case "allOf":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return fmt.Errorf("allOf must be a non-empty array")
			}
			for i, s := range list {
				sub, err := c.sub(s, file, ptr, kw, strconv.Itoa(i))
				if err != nil {
					return err
				}
				n.allOf = append(n.allOf, sub)
			}
		default:
			return fmt.Errorf("unsupported keyword %q", kw)
		}
		if err != nil {
			if _, nested := err.(*schemaError); nested {
				return err
			}
			return fmt.Errorf("%s: %w", kw, err)
		}
	}
	return nil
}

func (c *compiler) compilePattern(v any) (*regexp.Regexp, error) {
	src, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("must be a string")
	}
	if re, ok := c.patterns[src]; ok {
		return re, nil
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	c.patterns[src] = re
	return re, nil
}

func compileTypes(v any) (jsonType, error) {
	var names []string
	switch v := v.(type) {
	case string:
		names = []string{v}
	default:
		var err error
		if names, err = stringList(v); err != nil {
			return 0, err
		}
	}
	var t jsonType
	for _, name := range names {
		bit := typeNamed(name)
		if bit == 0 {
			return 0, fmt.Errorf("unsupported type %q", name)
		}
		t |= bit
	}
	return t, nil
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("must be an array of strings")
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("must be an array of strings")
		}
		out = append(out, s)
	}
	return out, nil
}

func count(v any) (int, error) {
	f, ok := v.(float64)
	if !ok || f < 0 || f != float64(int(f)) {
		return 0, fmt.Errorf("must be a non-negative integer")
	}
	return int(f), nil
}
