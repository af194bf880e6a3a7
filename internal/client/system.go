package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// PingResponse is the server's version, as GET /v2/ping reports it.
type PingResponse struct {
	Version string `json:"Version"`
	Commit  string `json:"Commit"`
}

// Ping asks the server for its version (GET /v2/ping, no token needed).
func (c *Client) Ping(ctx context.Context) (*PingResponse, error) {
	var out PingResponse
	err := c.do(ctx, request{method: http.MethodGet, path: "/v2/ping", want: http.StatusOK, auth: noAuth}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PingRaw returns the unversioned GET /ping reply ("version V -- commit C").
func (c *Client) PingRaw(ctx context.Context) (string, error) {
	return c.getText(ctx, "/ping")
}

// Healthz checks the server and its database are ready (GET /healthz); it
// returns nil when they are.
func (c *Client) Healthz(ctx context.Context) error {
	_, err := c.getText(ctx, "/healthz")
	return err
}

func (c *Client) getText(ctx context.Context, path string) (string, error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, want: http.StatusOK, auth: noAuth})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", fmt.Errorf("reading the reply to GET %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// noAuth sends no Authorization header.
func noAuth(*http.Request) {}
