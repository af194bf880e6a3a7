package generic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Event types of the two paths.
const (
	TypeSimpleEvent = "simpleevent"
	TypeCloudEvent  = "cloudevent"
)

// malformed is Brigade v1's answer to a body that is not what the path
// takes.
const malformed = "Malformed POST data - Invalid JSON"

// simpleEvent maps a v1 simple event: any JSON object (or nothing), whose
// optional "ref" and "commit" pick the revision. Without them the event
// has no git fields, so the project's default branch is used (Brigade v1
// said master).
func simpleEvent(projectID string, body []byte) (*core.Event, error) {
	ev := &core.Event{ProjectID: projectID, Source: core.GenericGatewaySource, Type: TypeSimpleEvent, Payload: string(body)}
	if len(bytes.TrimSpace(body)) == 0 {
		return ev, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		what := "is not valid JSON"
		if json.Valid(body) {
			what = "is JSON but not an object"
		}
		return nil, badRequest("%s: the body %s; send nothing, or an object such as {\"ref\": \"main\"}", malformed, what)
	}
	git, err := gitOf(obj, "")
	if err != nil {
		return nil, err
	}
	ev.Git = git
	return ev, nil
}

// cloudEvent maps a CloudEvents 0.2 event in structured JSON: specversion
// "0.2" and non-empty id, type and source are required. Its source and
// type become the event's qualifiers (a project subscribes to them), and
// "ref" and "commit" of an object "data" its revision; data of any other
// kind is fine and picks none.
func cloudEvent(projectID string, body []byte) (*core.Event, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, badRequest("%s: the body must be a CloudEvents 0.2 event, a JSON object", malformed)
	}
	attrs := map[string]string{}
	for _, name := range []string{"specversion", "id", "type", "source"} {
		var v string
		if raw, ok := obj[name]; ok {
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, badRequest("the CloudEvent's %q must be a string", name)
			}
		}
		if v == "" {
			return nil, badRequest("the CloudEvent has no %q: specversion, id, type and source are required", name)
		}
		attrs[name] = v
	}
	if attrs["specversion"] != "0.2" {
		return nil, badRequest(`the CloudEvent's specversion is %q; this path takes "0.2" (send CloudEvents 1.0 to the CloudEvents gateway)`,
			attrs["specversion"])
	}
	for _, name := range []string{"source", "type"} {
		if !qualifierValue(attrs[name]) {
			return nil, &refusal{status: http.StatusUnprocessableEntity, msg: "the CloudEvent's " + name + " " +
				quoteShort(attrs[name]) + " cannot be an event qualifier, which a project subscribes to: " +
				"use 1 to 255 letters, digits and _ : / - . ? = *"}
		}
	}
	ev := &core.Event{ProjectID: projectID, Source: core.GenericGatewaySource, Type: TypeCloudEvent, Payload: string(body),
		Qualifiers: map[string]string{"source": attrs["source"], "type": attrs["type"]}}
	var data map[string]json.RawMessage
	if raw := bytes.TrimSpace(obj["data"]); len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &data); err != nil {
			return nil, badRequest("%s: the CloudEvent's data: %v", malformed, err)
		}
	}
	git, err := gitOf(data, "data.")
	if err != nil {
		return nil, err
	}
	ev.Git = git
	return ev, nil
}

// gitOf reads the optional string fields ref and commit of obj (where
// prefixes their names in errors); nil when neither is given.
func gitOf(obj map[string]json.RawMessage, where string) (*core.GitDetails, error) {
	var git core.GitDetails
	for name, dst := range map[string]*string{"ref": &git.Ref, "commit": &git.Commit} {
		raw, ok := obj[name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, badRequest("%s: %s%s must be a string", malformed, where, name)
		}
	}
	if git.Ref == "" && git.Commit == "" {
		return nil, nil
	}
	return &git, nil
}

// qualifierValue reports whether v fits the API's rule for qualifier
// values: 1 to 255 of letters, digits and _ : / - . ? = *.
func qualifierValue(v string) bool {
	if len(v) == 0 || len(v) > 255 {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == ':' || c == '/' || c == '-' || c == '.' || c == '?' || c == '=' || c == '*':
		default:
			return false
		}
	}
	return true
}

func quoteShort(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// maxKey is the API's limit on an Idempotency-Key.
const maxKey = 255

// deliveryKey is the API's idempotency key for a sender's
// Idempotency-Key header (empty: none): scoped to the path and project,
// since keys are unique within the event source only and two projects'
// senders may well both count from 1. A scoped key too long for the API
// holds the SHA-256 of the sender's key instead.
func deliveryKey(path, projectID, sent string) (string, error) {
	if sent == "" {
		return "", nil
	}
	if len(sent) > maxKey {
		return "", badRequest("the Idempotency-Key header is %d bytes long; it can be at most %d", len(sent), maxKey)
	}
	for i := 0; i < len(sent); i++ {
		if c := sent[i]; c < 0x20 || c == 0x7f {
			return "", badRequest("the Idempotency-Key header must not contain control characters")
		}
	}
	scope := path + "/" + projectID + "/"
	if len(scope)+len(sent) <= maxKey {
		return scope + sent, nil
	}
	sum := sha256.Sum256([]byte(sent))
	return scope + "sha256:" + hex.EncodeToString(sum[:]), nil
}
