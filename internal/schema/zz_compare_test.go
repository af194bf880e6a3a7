// TEMPORARY: compares the new validator with the santhosh-tekuri/jsonschema one it replaces.

package schema

import (
	"bytes"
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

var (
	oldOnce     sync.Once
	oldCompiled map[string]*jsonschema.Schema
	oldErrInit  error
)

func oldLoad() {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	names, err := fs.Glob(files, "schemas/*.json")
	if err != nil {
		oldErrInit = err
		return
	}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			oldErrInit = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			oldErrInit = fmt.Errorf("parsing embedded schema %s: %w", n, err)
			return
		}
		if err := c.AddResource(strings.TrimPrefix(n, "schemas/"), doc); err != nil {
			oldErrInit = fmt.Errorf("adding embedded schema %s: %w", n, err)
			return
		}
	}
	oldCompiled = map[string]*jsonschema.Schema{}
	for _, kind := range []string{Project, Event, Job, JobStatus, WorkerStatus, SourceStateRequest, EventSummary, Secret} {
		s, err := c.Compile(kind + ".json")
		if err != nil {
			oldErrInit = fmt.Errorf("compiling schema %s: %w", kind, err)
			return
		}
		oldCompiled[kind] = s
	}
}

// Validate checks body against the schema of kind. It returns nil, a
// *core.BadRequestError, or an error if the schemas themselves are broken.
func oldValidate(kind string, body []byte) error {
	oldOnce.Do(oldLoad)
	if oldErrInit != nil {
		return oldErrInit
	}
	s, ok := oldCompiled[kind]
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
	return core.NewBadRequest(ReasonInvalid, oldDetails(ve)...)
}

// details flattens a validation error into one line per violation (the
// leaves of its cause tree), each naming where in the body it is:
// "(root): missing property 'kind'", "spec.workerTemplate.logLevel: value
// must be one of ...".
func oldDetails(ve *jsonschema.ValidationError) []string {
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
		line := oldLocation(loc) + ": " + e.ErrorKind.LocalizedString(p)
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	walk(ve, nil)
	sort.Strings(lines)
	return lines
}

func oldLocation(path []string) string {
	if len(path) == 0 {
		return "(root)"
	}
	return strings.Join(path, ".")
}
