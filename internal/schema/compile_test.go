package schema

import (
	"strings"
	"testing"
)

// The validator knows only the keywords our schema files use: a schema that
// uses another must fail to compile rather than mean less than it says.
func TestCompileRefusesWhatItDoesNotKnow(t *testing.T) {
	cases := map[string]string{
		"UnknownKeyword":   `{"type":"object","properties":{"n":{"minimum":1}}}`,
		"RefWithSiblings":  `{"definitions":{"a":{"type":"string"}},"properties":{"x":{"$ref":"#/definitions/a","maxLength":3}}}`,
		"UnknownFormat":    `{"properties":{"x":{"type":"string","format":"uri"}}}`,
		"UnknownType":      `{"type":"integer"}`,
		"BadPattern":       `{"pattern":"("}`,
		"MissingReference": `{"properties":{"x":{"$ref":"#/definitions/nope"}}}`,
		"ReferenceCycle":   `{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},"properties":{"x":{"$ref":"#/definitions/a"}}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			doc := `{"$schema":"http://json-schema.org/draft-07/schema#","$id":"T.json",` + strings.TrimPrefix(body, "{")
			c, err := newCompiler(map[string][]byte{"T.json": []byte(doc)})
			if err == nil {
				_, err = c.compile("T.json", "")
			}
			if err == nil {
				t.Fatalf("%s compiled", doc)
			}
		})
	}
}

func TestEmbeddedSchemasCompile(t *testing.T) {
	if _, err := compileAll(); err != nil {
		t.Fatal(err)
	}
}
