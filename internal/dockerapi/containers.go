package dockerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Container states (ContainerSummary.State, State.Status).
const (
	StateCreated = "created"
	StateRunning = "running"
	StateExited  = "exited"
)

// ContainerSummary is a container as the list call shows it.
type ContainerSummary struct {
	ID     string `json:"Id"`
	Names  []string
	Image  string
	Labels map[string]string
	State  string
}

// Container is a container as inspect shows it.
type Container struct {
	ID         string `json:"Id"`
	Name       string
	State      *State
	Config     *Config
	HostConfig *HostConfig
}

// State is a container's run state. The times are RFC 3339; a container
// that never started or ended has the zero time ("0001-01-01T00:00:00Z").
type State struct {
	Status     string
	Running    bool
	OOMKilled  bool
	ExitCode   int
	StartedAt  string
	FinishedAt string
}

// Config is the part of a container's configuration that does not depend
// on the host.
type Config struct {
	Image      string
	Env        []string          `json:",omitempty"`
	Cmd        []string          `json:",omitempty"`
	Entrypoint []string          `json:",omitempty"`
	WorkingDir string            `json:",omitempty"`
	Labels     map[string]string `json:",omitempty"`
}

// HostConfig is the part of a container's configuration that depends on
// the host.
type HostConfig struct {
	Binds       []string `json:",omitempty"` // host-path:container-path[:options]
	NetworkMode string   `json:",omitempty"` // "" (the daemon's default), bridge, host, none, container:<id>, a network
	Privileged  bool     `json:",omitempty"`
	Init        *bool    `json:",omitempty"` // run an init as PID 1 (nil: the daemon's default)
	Resources
}

// Resources are a container's limits; zero is no limit.
type Resources struct {
	CPUShares         int64 `json:"CpuShares,omitempty"` // relative weight
	Memory            int64 `json:",omitempty"`          // bytes
	NanoCPUs          int64 `json:"NanoCpus,omitempty"`  // billionths of a CPU
	MemoryReservation int64 `json:",omitempty"`          // bytes, soft limit
}

// ListOptions filters the containers ContainerList returns.
type ListOptions struct {
	All    bool     // also containers that do not run
	Labels []string // key or key=value; a container must carry them all
}

// ContainerList lists containers.
func (c *Client) ContainerList(ctx context.Context, opts ListOptions) ([]ContainerSummary, error) {
	q := url.Values{}
	if opts.All {
		q.Set("all", "1")
	}
	if len(opts.Labels) > 0 {
		f, err := json.Marshal(map[string][]string{"label": opts.Labels})
		if err != nil {
			return nil, err
		}
		q.Set("filters", string(f))
	}
	var out []ContainerSummary
	return out, c.getJSON(ctx, "/containers/json", q, &out)
}

// ContainerInspect returns a container by id or name.
func (c *Client) ContainerInspect(ctx context.Context, id string) (Container, error) {
	var out Container
	return out, c.getJSON(ctx, "/containers/"+url.PathEscape(id)+"/json", nil, &out)
}

// Created is the answer to ContainerCreate.
type Created struct {
	ID       string `json:"Id"`
	Warnings []string
}

// ContainerCreate creates a container; name may be "" (docker picks one).
func (c *Client) ContainerCreate(ctx context.Context, name string, cfg *Config, host *HostConfig) (Created, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	body := struct {
		*Config
		HostConfig *HostConfig `json:",omitempty"`
	}{cfg, host}
	var q url.Values
	if name != "" {
		q = url.Values{"name": {name}}
	}
	resp, err := c.request(ctx, http.MethodPost, "/containers/create", q, body)
	if err != nil {
		return Created{}, err
	}
	defer drain(resp)
	var out Created
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return Created{}, c.bodyError(ctx, "reading the answer to creating a container", err)
	}
	return out, nil
}

// ContainerStart starts a container; one that runs already is no error.
func (c *Client) ContainerStart(ctx context.Context, id string) error {
	return c.post(ctx, "/containers/"+url.PathEscape(id)+"/start", nil)
}

// CopyToContainer unpacks a tar archive into a container's file system at
// dir, which must exist there; the container need not run (one that was
// created and not started gets the files before its command sees them).
func (c *Client) CopyToContainer(ctx context.Context, id, dir string, tarball io.Reader) error {
	resp, err := c.request(ctx, http.MethodPut, "/containers/"+url.PathEscape(id)+"/archive",
		url.Values{"path": {dir}}, rawBody{r: tarball, contentType: "application/x-tar"})
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// ContainerStop stops a container: SIGTERM (or its stop signal), then
// SIGKILL after timeout seconds (nil: the container's own timeout).
func (c *Client) ContainerStop(ctx context.Context, id string, timeout *int) error {
	var q url.Values
	if timeout != nil {
		q = url.Values{"t": {strconv.Itoa(*timeout)}}
	}
	return c.post(ctx, "/containers/"+url.PathEscape(id)+"/stop", q)
}

// ContainerKill sends a signal ("TERM", "KILL", "SIGINT", a number) to a
// container; "" is SIGKILL. A container that does not run answers 409.
func (c *Client) ContainerKill(ctx context.Context, id, signal string) error {
	var q url.Values
	if signal != "" {
		q = url.Values{"signal": {signal}}
	}
	return c.post(ctx, "/containers/"+url.PathEscape(id)+"/kill", q)
}

// RemoveOptions are ContainerRemove's options.
type RemoveOptions struct {
	Force         bool // kill it if it runs
	RemoveVolumes bool // remove its anonymous volumes too
}

// ContainerRemove removes a container. The daemon answers once it is
// gone; another removal under way answers 409 "removal of container …
// is already in progress".
func (c *Client) ContainerRemove(ctx context.Context, id string, opts RemoveOptions) error {
	q := url.Values{}
	if opts.Force {
		q.Set("force", "1")
	}
	if opts.RemoveVolumes {
		q.Set("v", "1")
	}
	resp, err := c.request(ctx, http.MethodDelete, "/containers/"+url.PathEscape(id), q, nil)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// WaitCondition is what ContainerWait waits for.
type WaitCondition string

// Wait conditions.
const (
	WaitNotRunning WaitCondition = "not-running" // it is not running (now, or once it stops)
	WaitNextExit   WaitCondition = "next-exit"   // it next stops
	WaitRemoved    WaitCondition = "removed"     // it is removed
)

// WaitResult is how a wait ended: the container's exit code and the
// daemon's wait error (a removal that failed, for condition removed), or
// Err when the wait itself failed (the connection broke, ctx ended).
type WaitResult struct {
	StatusCode int64
	Error      string
	Err        error
}

// ContainerWait waits for a condition. It returns once the daemon has
// registered the wait, so that nothing that happens after it returns can
// be missed; the channel then gets exactly one result (it is buffered:
// it need not be read). A container that does not exist is an error
// (IsNotFound) at once.
func (c *Client) ContainerWait(ctx context.Context, id string, cond WaitCondition) (<-chan WaitResult, error) {
	var q url.Values
	if cond != "" {
		q = url.Values{"condition": {string(cond)}}
	}
	resp, err := c.request(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/wait", q, nil)
	if err != nil {
		return nil, err
	}
	out := make(chan WaitResult, 1)
	go func() {
		defer drain(resp)
		var body struct {
			StatusCode int64
			Error      *struct{ Message string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			out <- WaitResult{Err: c.bodyError(ctx, "waiting for container "+id, err)}
			return
		}
		r := WaitResult{StatusCode: body.StatusCode}
		if body.Error != nil {
			r.Error = body.Error.Message
		}
		out <- r
	}()
	return out, nil
}

// LogsOptions are ContainerLogs' options.
type LogsOptions struct {
	Stdout, Stderr bool
	Follow         bool      // go on until the container stops
	Timestamps     bool      // start every message with its RFC 3339 time and a space
	Since          time.Time // only messages stamped at or after it (zero: all)
}

// ContainerLogs returns a container's log. For a container without a TTY
// (every container the substrate creates) it is multiplexed: read it with
// a FrameReader. The caller closes it; ending ctx ends a followed read.
func (c *Client) ContainerLogs(ctx context.Context, id string, opts LogsOptions) (io.ReadCloser, error) {
	q := url.Values{}
	for k, on := range map[string]bool{"stdout": opts.Stdout, "stderr": opts.Stderr, "follow": opts.Follow, "timestamps": opts.Timestamps} {
		if on {
			q.Set(k, "1")
		}
	}
	if !opts.Since.IsZero() {
		q.Set("since", fmt.Sprintf("%d.%09d", opts.Since.Unix(), opts.Since.Nanosecond()))
	}
	resp, err := c.request(ctx, http.MethodGet, "/containers/"+url.PathEscape(id)+"/logs", q, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// getJSON GETs path and decodes the answer into out.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.request(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return c.bodyError(ctx, "reading the answer to GET "+path, err)
	}
	return nil
}

// post POSTs to path without a body and expects no answer but its status
// (204, or 304 for a container already in the state asked for).
func (c *Client) post(ctx context.Context, path string, q url.Values) error {
	resp, err := c.request(ctx, http.MethodPost, path, q, nil)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// bodyError is a failure to read an answer's body: the caller's giving up,
// or a broken connection (a *ConnectError).
func (c *Client) bodyError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if _, ok := err.(*json.SyntaxError); ok {
		return fmt.Errorf("%s: the Docker daemon at %s answered something that is not JSON: %w", what, c.host, err)
	}
	return &ConnectError{Host: c.host, Err: fmt.Errorf("%s: %w", what, err)}
}
