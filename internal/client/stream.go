package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// stream runs r in the background and delivers what the server writes (bare
// JSON objects, back to back or newline separated) as the package doc
// describes. terminal, when not nil, says which item ends a watch: the stream
// ends normally right after it, and an end before it is an error.
func stream[T any](ctx context.Context, c *Client, r request, what string, terminal func(*T) bool) (<-chan T, <-chan error) {
	vals := make(chan T)
	errs := make(chan error, 1)
	go func() {
		err := readStream(ctx, c, r, what, terminal, vals)
		if err != nil {
			errs <- err
		}
		close(vals)
		close(errs)
	}()
	return vals, errs
}

func readStream[T any](ctx context.Context, c *Client, r request, what string, terminal func(*T) bool, vals chan<- T) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	return readBody(ctx, resp, what, terminal, vals)
}

// streamBody delivers what an answered request's body streams, as stream
// does.
func streamBody[T any](ctx context.Context, resp *http.Response, what string, terminal func(*T) bool) (<-chan T, <-chan error) {
	vals := make(chan T)
	errs := make(chan error, 1)
	go func() {
		err := readBody(ctx, resp, what, terminal, vals)
		if err != nil {
			errs <- err
		}
		close(vals)
		close(errs)
	}()
	return vals, errs
}

func readBody[T any](ctx context.Context, resp *http.Response, what string, terminal func(*T) bool, vals chan<- T) error {
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var v T
		if err := dec.Decode(&v); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				if terminal != nil {
					return fmt.Errorf("the %s ended before a terminal phase (the server may have restarted or the event been deleted; watch again or get the status): %w",
						what, io.ErrUnexpectedEOF)
				}
				return nil
			}
			return fmt.Errorf("reading the %s: %w", what, err)
		}
		select {
		case vals <- v:
		case <-ctx.Done():
			return ctx.Err()
		}
		if terminal != nil && terminal(&v) {
			return nil
		}
	}
}
