// Package dockerapi is a small client of the Docker Engine HTTP API: the
// calls the docker substrate makes (ping, containers: list, inspect,
// create, start, wait, stop, kill, remove, logs; images: inspect, pull)
// and nothing else. It replaces the moby client, whose dependencies cost
// every start of the brigade binary (each worker is one) about a
// millisecond of package initialisation.
//
// The daemon's address is the one given, else $DOCKER_HOST, else
// unix:///var/run/docker.sock; tcp:// addresses use TLS when
// DOCKER_TLS_VERIFY or DOCKER_CERT_PATH is set, as for the docker CLI.
//
// # API version
//
// Requests name an API version. The client speaks MaxAPIVersion and lower:
// before its first request it asks the daemon (GET /_ping, header
// API-Version) and uses the lower of the daemon's version and
// MaxAPIVersion, as the docker CLI does. Pinning one old version instead
// would not do: daemons drop old versions (Docker 29 answers nothing below
// 1.44), and the fields used here have not changed since 1.30 (wait
// condition "removed"). DOCKER_API_VERSION pins the version instead.
package dockerapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultHost is the daemon's address when neither the caller nor
// $DOCKER_HOST gives one.
const DefaultHost = "unix:///var/run/docker.sock"

// MaxAPIVersion is the newest API version the client speaks.
const MaxAPIVersion = "1.47"

// fallbackAPIVersion is used when the daemon's ping names no version
// (daemons before API 1.25 did not).
const fallbackAPIVersion = "1.24"

// Client talks to one Docker daemon. It is safe for concurrent use.
type Client struct {
	host string // the address as given, for messages
	base string // scheme://host[/path] of every request's URL
	hc   *http.Client

	mu      sync.Mutex
	version string // "" until negotiated (or pinned by DOCKER_API_VERSION)
}

// New returns a client of the daemon at host (unix:///path,
// tcp://host:port; "" for $DOCKER_HOST, else DefaultHost). It does not
// contact the daemon.
func New(host string) (*Client, error) {
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil || u.Scheme == "" || !strings.Contains(host, "://") {
		return nil, fmt.Errorf("docker host %q is not an address such as unix:///var/run/docker.sock or tcp://host:2376", host)
	}
	tr := &http.Transport{
		MaxIdleConnsPerHost: 32, // a job holds a few streams at once; jobs run side by side
		IdleConnTimeout:     30 * time.Second,
	}
	c := &Client{host: host, hc: &http.Client{Transport: tr}, version: os.Getenv("DOCKER_API_VERSION")}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		if sock == "" {
			sock = u.Host // unix://relative/path
		}
		if sock == "" {
			return nil, fmt.Errorf("docker host %q names no socket (example: unix:///var/run/docker.sock)", host)
		}
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", sock)
		}
		c.base = "http://docker"
	case "tcp", "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("docker host %q names no host (example: tcp://host:2376)", host)
		}
		cfg, err := tlsFromEnv()
		if err != nil {
			return nil, err
		}
		tr.Proxy = http.ProxyFromEnvironment // as the docker CLI: HTTPS_PROXY, NO_PROXY apply
		scheme := "http"
		if cfg != nil || u.Scheme == "https" {
			scheme = "https"
			tr.TLSClientConfig = cfg
		}
		hostport := u.Host
		if u.Port() == "" {
			port := "2375"
			if scheme == "https" {
				port = "2376"
			}
			hostport = net.JoinHostPort(u.Hostname(), port)
		}
		c.base = scheme + "://" + hostport + strings.TrimSuffix(u.Path, "/")
	default:
		return nil, fmt.Errorf("docker host %q: scheme %s is not supported: use unix:///path/to/docker.sock or tcp://host:port "+
			"(for ssh://, forward the daemon's socket and point at the forwarded one)", host, u.Scheme)
	}
	return c, nil
}

// tlsFromEnv is the TLS configuration DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH ask for: none when neither is set; else the client
// certificate (cert.pem, key.pem) and CA (ca.pem) from DOCKER_CERT_PATH
// (default ~/.docker), the daemon's certificate verified unless
// DOCKER_TLS_VERIFY is empty.
func tlsFromEnv() (*tls.Config, error) {
	verify, dir := os.Getenv("DOCKER_TLS_VERIFY"), os.Getenv("DOCKER_CERT_PATH")
	if verify == "" && dir == "" {
		return nil, nil
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH is not, and there is no home folder for ~/.docker: %w", err)
		}
		dir = filepath.Join(home, ".docker")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: verify == ""} // #nosec G402 -- as the docker CLI: DOCKER_TLS_VERIFY asks for verification
	if pem, err := os.ReadFile(filepath.Join(dir, "ca.pem")); err == nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("docker TLS: %s holds no PEM certificate", filepath.Join(dir, "ca.pem"))
		}
		cfg.RootCAs = pool
	} else if verify != "" {
		return nil, fmt.Errorf("docker TLS: DOCKER_TLS_VERIFY is set but the CA certificate cannot be read: %w (put ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH)", err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	switch {
	case err == nil:
		cfg.Certificates = []tls.Certificate{cert}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("docker TLS: the client certificate in %s: %w", dir, err)
	}
	return cfg, nil
}

// Host is the daemon's address.
func (c *Client) Host() string { return c.host }

// Close releases idle connections. Streams still open stay open.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Ping is what the daemon's ping answers.
type Ping struct {
	APIVersion string // the daemon's newest API version
	OSType     string
}

// Ping checks that the daemon answers and settles the API version the
// client uses (see the package comment).
func (c *Client) Ping(ctx context.Context) (Ping, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/_ping", nil)
	if err != nil {
		return Ping{}, err
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return Ping{}, err
	}
	defer resp.Body.Close()
	p := Ping{APIVersion: resp.Header.Get("API-Version"), OSType: resp.Header.Get("OSType")}
	// A daemon in trouble may answer 500 with its version all the same.
	if p.APIVersion != "" || resp.StatusCode < 400 {
		v := p.APIVersion
		if v == "" {
			v = fallbackAPIVersion
		}
		if olderVersion(MaxAPIVersion, v) {
			v = MaxAPIVersion
		}
		c.mu.Lock()
		if c.version == "" {
			c.version = v
		}
		c.mu.Unlock()
	}
	if resp.StatusCode >= 400 {
		return p, readError(resp)
	}
	return p, nil
}

// APIVersion is the API version requests use: "" before the first
// request, unless DOCKER_API_VERSION pins it.
func (c *Client) APIVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// olderVersion reports whether API version a is older than b ("1.9" is
// older than "1.41").
func olderVersion(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// request sends a request for path (under the API version) with the query
// and, unless nil, body as JSON. An answer of 400 or more is returned as an
// *Error; otherwise the caller closes the response's body.
func (c *Client) request(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	version := c.APIVersion()
	if version == "" {
		_, err := c.Ping(ctx)
		if version = c.APIVersion(); version == "" {
			return nil, err // the ping failed: the request would too
		}
	}
	u := c.base + "/v" + version + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	ctype := "application/json"
	if raw, ok := body.(rawBody); ok {
		rd, ctype = raw.r, raw.contentType
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// rawBody is a request body sent as it is, not as JSON.
type rawBody struct {
	r           io.Reader
	contentType string
}

// send does one round trip; failing to reach the daemon is a
// *ConnectError, the caller's giving up the context's error.
func (c *Client) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err == nil {
		return resp, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("docker %s %s: %w", req.Method, req.URL.Path, ctx.Err())
	}
	return nil, &ConnectError{Host: c.host, Err: err}
}

// drain reads what is left of a body and closes it, so that its connection
// is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
