// Package schema validates request bodies against Brigade v2's JSON schemas
// (draft-07, additionalProperties false everywhere) before they are decoded.
// A body that fails gets a BadRequestError listing every violation, so a
// client learns all it must fix in one round trip.
package schema

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/brigadeplatform/brigade/internal/core"
)

//go:embed schemas/*.json
var files embed.FS

// Kinds of request bodies that have a schema.
const (
	Project            = "Project"
	Event              = "Event"
	Job                = "Job"
	JobStatus          = "JobStatus"
	WorkerStatus       = "WorkerStatus"
	SourceStateRequest = "SourceStateRequest"
	EventSummary       = "EventSummary"
	Secret             = "Secret"
)

// Reasons used in BadRequestError bodies.
const (
	ReasonMalformed = "Request body contains malformed JSON"
	ReasonInvalid   = "Request body failed JSON validation"
)

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	errInit  error
)

func load() {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	names, err := fs.Glob(files, "schemas/*.json")
	if err != nil {
		errInit = err
		return
	}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			errInit = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			errInit = fmt.Errorf("parsing embedded schema %s: %w", n, err)
			return
		}
		if err := c.AddResource(strings.TrimPrefix(n, "schemas/"), doc); err != nil {
			errInit = fmt.Errorf("adding embedded schema %s: %w", n, err)
			return
		}
	}
	compiled = map[string]*jsonschema.Schema{}
	for _, kind := range []string{Project, Event, Job, JobStatus, WorkerStatus, SourceStateRequest, EventSummary, Secret} {
		s, err := c.Compile(kind + ".json")
		if err != nil {
			errInit = fmt.Errorf("compiling schema %s: %w", kind, err)
			return
		}
		compiled[kind] = s
	}
}

// Validate checks body against the schema of kind. It returns nil, a
// *core.BadRequestError, or an error if the schemas themselves are broken.
func Validate(kind string, body []byte) error {
	once.Do(load)
	if errInit != nil {
		return errInit
	}
	s, ok := compiled[kind]
	if !ok {
		return fmt.Errorf("no schema for kind %q", kind)
	}
	if !json.Valid(body) {
		return core.NewBadRequest(ReasonMalformed)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return core.NewBadRequest(ReasonMalformed)
	}
	err = s.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return core.NewBadRequest(ReasonInvalid, err.Error())
	}
	return core.NewBadRequest(ReasonInvalid, details(ve)...)
}

// details flattens a validation error into one line per violation (the
// leaves of its cause tree), each naming where in the body it is:
// "(root): missing property 'kind'", "spec.workerTemplate.logLevel: value
// must be one of ...".
func details(ve *jsonschema.ValidationError) []string {
	p := message.NewPrinter(language.English)
	seen := map[string]bool{}
	var lines []string
	var walk func(e *jsonschema.ValidationError, parent []string)
	walk = func(e *jsonschema.ValidationError, parent []string) {
		loc := e.InstanceLocation
		if _, isName := e.ErrorKind.(*kind.PropertyNames); isName || len(loc) == 0 {
			// Property names are validated as instances of their own (and
			// the library mislabels where): report them where the object is.
			loc = parent
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c, loc)
			}
			return
		}
		line := location(loc) + ": " + e.ErrorKind.LocalizedString(p)
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	walk(ve, nil)
	sort.Strings(lines)
	return lines
}

func location(path []string) string {
	if len(path) == 0 {
		return "(root)"
	}
	return strings.Join(path, ".")
}
