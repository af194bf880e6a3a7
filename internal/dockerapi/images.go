package dockerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Image is an image as inspect shows it.
type Image struct {
	ID       string `json:"Id"`
	RepoTags []string
}

// ImageInspect returns an image by name, name:tag, name@digest or id.
func (c *Client) ImageInspect(ctx context.Context, ref string) (Image, error) {
	var out Image
	return out, c.getJSON(ctx, "/images/"+escapeRef(ref)+"/json", nil, &out)
}

// escapeRef escapes an image reference for a path, keeping its slashes
// (the daemon's route takes the rest of the path as the name).
func escapeRef(ref string) string {
	parts := strings.Split(ref, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// splitRef splits an image reference into the repository and the tag or
// digest that the pull call takes apart. Without either it is latest: an
// empty tag would pull every tag of the repository.
func splitRef(ref string) (repo, tag string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		repo, tag = ref[:i], ref[i+1:]
		if j := strings.LastIndexByte(repo, ':'); j > strings.LastIndexByte(repo, '/') {
			repo = repo[:j] // name:tag@digest: the digest decides
		}
		return repo, tag
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// ImagePull pulls an image (tag latest unless the reference names one) and
// returns once the pull has ended. The daemon reports progress, and also
// a failure after the pull began, in a stream of JSON messages; a failure
// there is a *PullError.
func (c *Client) ImagePull(ctx context.Context, ref string) error {
	repo, tag := splitRef(ref)
	if repo == "" || tag == "" {
		// An empty tag would pull every tag of the repository.
		return fmt.Errorf("image reference %q is not valid: write name, name:tag or name@digest", ref)
	}
	resp, err := c.request(ctx, http.MethodPost, "/images/create", url.Values{"fromImage": {repo}, "tag": {tag}}, nil)
	if err != nil {
		return err
	}
	defer drain(resp)
	return readPullStream(ctx, c, ref, resp.Body)
}

// readPullStream reads a pull's progress messages to the end.
func readPullStream(ctx context.Context, c *Client, ref string, r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return c.bodyError(ctx, "reading the progress of pulling "+ref, err)
		}
		msg := m.Error
		if msg == "" && m.ErrorDetail != nil {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			return &PullError{Image: ref, Message: msg}
		}
	}
}
