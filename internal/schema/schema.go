// Package schema validates request bodies against Brigade v2's JSON schemas
// (draft-07, additionalProperties false everywhere) before they are decoded.
// A body that fails gets a BadRequestError listing every violation, so a
// client learns all it must fix in one round trip.
//
// The validator is this package's own and knows only the keywords the
// embedded schemas use (see compile.go). The schemas are compiled on the
// first Validate, not when the program starts: every event starts the
// brigade binary anew as its worker, and a worker validates nothing.
package schema

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sync"

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
	LogLines           = "LogLines"

	ServiceAccount        = "ServiceAccount"
	RoleAssignment        = "RoleAssignment"
	ProjectRoleAssignment = "ProjectRoleAssignment"

	// GenericGatewaySecretVerification is ours (docs/api.md).
	GenericGatewaySecretVerification = "GenericGatewaySecretVerification"
)

// Reasons used in BadRequestError bodies.
const (
	ReasonMalformed = "Request body contains malformed JSON"
	ReasonInvalid   = "Request body failed JSON validation"
)

var (
	once     sync.Once
	compiled map[string]*node
	errInit  error
)

func load() {
	compiled, errInit = compileAll()
}

// compileAll compiles the schema of every kind from the embedded files.
func compileAll() (map[string]*node, error) {
	names, err := fs.Glob(files, "schemas/*.json")
	if err != nil {
		return nil, err
	}
	raw := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		raw[path.Base(n)] = b
	}
	c, err := newCompiler(raw)
	if err != nil {
		return nil, err
	}
	out := map[string]*node{}
	for _, kind := range []string{Project, Event, Job, JobStatus, WorkerStatus, SourceStateRequest, EventSummary, Secret, LogLines,
		ServiceAccount, RoleAssignment, ProjectRoleAssignment, GenericGatewaySecretVerification} {
		n, err := c.compile(kind+".json", "")
		if err != nil {
			return nil, fmt.Errorf("compiling schema %s: %w", kind, err)
		}
		out[kind] = n
	}
	return out, nil
}

// Validate checks body against the schema of kind. It returns nil, a
// *core.BadRequestError, or an error if the schemas themselves are broken.
//
// Each detail of the error is one violation, "where: what", sorted:
// "(root): missing property 'kind'", "spec.workerTemplate.logLevel: value
// must be one of ...". A property name that breaks the rules for names is
// reported where its object is.
func Validate(kind string, body []byte) error {
	once.Do(load)
	if errInit != nil {
		return errInit
	}
	n, ok := compiled[kind]
	if !ok {
		return fmt.Errorf("no schema for kind %q", kind)
	}
	if !json.Valid(body) {
		return core.NewBadRequest(ReasonMalformed)
	}
	if err := checkUTF8(body); err != nil {
		return err
	}
	inst, err := parse(body)
	if err != nil {
		return core.NewBadRequest(ReasonMalformed)
	}
	var v validator
	v.check(n, inst)
	if len(v.lines) == 0 {
		return nil
	}
	return core.NewBadRequest(ReasonInvalid, v.details()...)
}
