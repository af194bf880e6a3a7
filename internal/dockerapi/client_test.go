package dockerapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDaemon is an HTTP server on a unix socket that answers as the Docker
// daemon would, from handlers the test sets per route ("GET /containers/json",
// without the version prefix), and records the API version requests named.
type fakeDaemon struct {
	t        *testing.T
	sock     string
	version  string // the API-Version its ping answers
	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	versions []string // of every versioned request
	pings    int
	notes    []string // what handlers noted (note, notes)
}

// note records what a handler saw, for the test to read once the call
// returned (under the lock: the socket is no synchronisation the race
// detector sees).
func (d *fakeDaemon) note(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notes = append(d.notes, s)
}

// takeNotes returns the notes and forgets them.
func (d *fakeDaemon) takeNotes() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.notes
	d.notes = nil
	return n
}

// counts returns the pings and the versions requests named.
func (d *fakeDaemon) counts() (int, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pings, slices.Clone(d.versions)
}

func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "dockerapi") // short: a socket's path is limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &fakeDaemon{t: t, sock: filepath.Join(dir, "docker.sock"), version: "1.41", routes: map[string]http.HandlerFunc{}}
	l, err := net.Listen("unix", d.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(d.serve))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return d
}

func (d *fakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	if r.URL.Path == "/_ping" {
		d.pings++
		d.mu.Unlock()
		w.Header().Set("API-Version", d.version)
		w.Header().Set("OSType", "linux")
		_, _ = io.WriteString(w, "OK")
		return
	}
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/v"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			d.versions = append(d.versions, rest[:i])
			path = rest[i:]
		}
	}
	h := d.routes[r.Method+" "+path]
	d.mu.Unlock()
	if h == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, `{"message":"page not found: %s %s"}`, r.Method, path)
		return
	}
	h(w, r)
}

func (d *fakeDaemon) handle(route string, h http.HandlerFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes[route] = h
}

func (d *fakeDaemon) client(t *testing.T) *Client {
	t.Helper()
	c, err := New("unix://" + d.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// answer replies with status and v as JSON.
func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, status int, msg string) {
	answer(w, status, map[string]string{"message": msg})
}

func noEnv(t *testing.T) {
	for _, k := range []string{"DOCKER_HOST", "DOCKER_API_VERSION", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"} {
		t.Setenv(k, "")
	}
}

func TestVersionNegotiation(t *testing.T) {
	noEnv(t)
	ctx := context.Background()
	list := func(w http.ResponseWriter, r *http.Request) { answer(w, 200, []any{}) }
	for daemon, want := range map[string]string{"1.41": "1.41", "1.99": MaxAPIVersion, "": fallbackAPIVersion} {
		t.Run("Daemon"+daemon, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.version = daemon
			d.handle("GET /containers/json", list)
			c := d.client(t)
			for range 2 {
				if _, err := c.ContainerList(ctx, ListOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if pings, versions := d.counts(); pings != 1 || !reflect.DeepEqual(versions, []string{want, want}) {
				t.Errorf("%d pings, request versions %v; want one ping, then version %s", pings, versions, want)
			}
		})
	}
	t.Run("Pinned", func(t *testing.T) {
		t.Setenv("DOCKER_API_VERSION", "1.40")
		d := newFakeDaemon(t)
		d.handle("GET /containers/json", list)
		if _, err := d.client(t).ContainerList(ctx, ListOptions{}); err != nil {
			t.Fatal(err)
		}
		if pings, versions := d.counts(); pings != 0 || !reflect.DeepEqual(versions, []string{"1.40"}) {
			t.Errorf("%d pings, versions %v; want DOCKER_API_VERSION's 1.40 without a ping", pings, versions)
		}
	})
}

func TestOlderVersion(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"1.9", "1.41", true}, {"1.41", "1.9", false}, {"1.41", "1.41", false}, {"1.47", "2.0", true}, {"1", "1.1", true}} {
		if got := olderVersion(c.a, c.b); got != c.want {
			t.Errorf("olderVersion(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestContainerListAndInspect(t *testing.T) {
	noEnv(t)
	d := newFakeDaemon(t)
	d.handle("GET /containers/json", func(w http.ResponseWriter, r *http.Request) {
		var f map[string][]string
		if err := json.Unmarshal([]byte(r.URL.Query().Get("filters")), &f); err != nil ||
			!reflect.DeepEqual(f["label"], []string{"a=1", "b"}) || r.URL.Query().Get("all") != "1" {
			refuse(w, 400, "bad query "+r.URL.RawQuery)
			return
		}
		_, _ = io.WriteString(w, `[{"Id":"c1","Names":["/one"],"Image":"busybox","Labels":{"a":"1","b":""},"State":"running","Status":"Up 2 seconds","Ports":[]}]`)
	})
	d.handle("GET /containers/c1/json", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"Id":"c1","Name":"/one","State":{"Status":"exited","Running":false,"OOMKilled":true,"ExitCode":137,
			"StartedAt":"2026-01-02T03:04:05.123456789Z","FinishedAt":"2026-01-02T03:04:06Z"},
			"Config":{"Image":"busybox","Cmd":["sleep","1"],"Labels":{"a":"1"}},
			"HostConfig":{"NetworkMode":"container:c0","Privileged":true,"Init":true,"NanoCpus":1500000000,"Memory":1024,"Binds":["/a:/b"]}}`)
	})
	c := d.client(t)
	ctx := context.Background()
	got, err := c.ContainerList(ctx, ListOptions{All: true, Labels: []string{"a=1", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []ContainerSummary{{ID: "c1", Names: []string{"/one"}, Image: "busybox", Labels: map[string]string{"a": "1", "b": ""}, State: StateRunning}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("list %+v; want %+v", got, want)
	}
	in, err := c.ContainerInspect(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != "c1" || in.State == nil || in.State.ExitCode != 137 || !in.State.OOMKilled || in.State.Running ||
		in.State.StartedAt != "2026-01-02T03:04:05.123456789Z" || in.Config.Labels["a"] != "1" ||
		in.HostConfig.NetworkMode != "container:c0" || !in.HostConfig.Privileged || in.HostConfig.Init == nil ||
		in.HostConfig.NanoCPUs != 1.5e9 || in.HostConfig.Memory != 1024 || in.HostConfig.Binds[0] != "/a:/b" {
		t.Errorf("inspect %+v state %+v host %+v", in, in.State, in.HostConfig)
	}
	if _, err := c.ContainerInspect(ctx, "gone"); !IsNotFound(err) {
		t.Errorf("inspecting a missing container: %v; want not found", err)
	}
}

func TestContainerCreate(t *testing.T) {
	noEnv(t)
	d := newFakeDaemon(t)
	d.handle("POST /containers/create", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" {
			refuse(w, 400, "not JSON")
			return
		}
		d.note(r.URL.Query().Get("name"))
		d.note(string(b))
		answer(w, 201, map[string]any{"Id": "new", "Warnings": []string{"careful"}})
	})
	init := true
	res, err := d.client(t).ContainerCreate(context.Background(), "brigade_e_j_j",
		&Config{Image: "busybox", Entrypoint: []string{"sh"}, Cmd: []string{"-c", "true"}, Env: []string{"A=1"},
			WorkingDir: "/src", Labels: map[string]string{"k": "v"}},
		&HostConfig{Binds: []string{"/h:/c"}, NetworkMode: "none", Privileged: true, Init: &init,
			Resources: Resources{NanoCPUs: 1e9, CPUShares: 256, Memory: 1 << 20, MemoryReservation: 1 << 19}})
	if err != nil {
		t.Fatal(err)
	}
	notes := d.takeNotes()
	if res.ID != "new" || !reflect.DeepEqual(res.Warnings, []string{"careful"}) || len(notes) != 2 || notes[0] != "brigade_e_j_j" {
		t.Fatalf("created %+v; the daemon saw %q", res, notes)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(notes[1]), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Image": "busybox", "Entrypoint": []any{"sh"}, "Cmd": []any{"-c", "true"}, "Env": []any{"A=1"},
		"WorkingDir": "/src", "Labels": map[string]any{"k": "v"},
		"HostConfig": map[string]any{"Binds": []any{"/h:/c"}, "NetworkMode": "none", "Privileged": true, "Init": true,
			"NanoCpus": 1e9, "CpuShares": 256.0, "Memory": float64(1 << 20), "MemoryReservation": float64(1 << 19)},
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("create body\n%v\nwant\n%v", body, want)
	}
	d.handle("POST /containers/create", func(w http.ResponseWriter, r *http.Request) {
		refuse(w, 409, `Conflict. The container name "/x" is already in use`)
	})
	_, err = d.client(t).ContainerCreate(context.Background(), "x", &Config{Image: "busybox"}, nil)
	if !IsConflict(err) || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("create of a taken name: %v; want a conflict with docker's message", err)
	}
}

// TestContainerCalls checks the method, path and query of the calls that
// answer nothing but a status.
func TestContainerCalls(t *testing.T) {
	noEnv(t)
	d := newFakeDaemon(t)
	record := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			d.note(r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery)
			w.WriteHeader(status)
		}
	}
	d.handle("POST /containers/c1/start", record(204))
	d.handle("POST /containers/c2/start", record(304)) // already started: no error
	d.handle("POST /containers/c1/stop", record(204))
	d.handle("POST /containers/c1/kill", record(204))
	d.handle("DELETE /containers/c1", record(204))
	c := d.client(t)
	ctx := context.Background()
	grace := 3
	for i, err := range []error{
		c.ContainerStart(ctx, "c1"),
		c.ContainerStart(ctx, "c2"),
		c.ContainerStop(ctx, "c1", &grace),
		c.ContainerKill(ctx, "c1", "TERM"),
		c.ContainerRemove(ctx, "c1", RemoveOptions{Force: true, RemoveVolumes: true}),
		c.ContainerRemove(ctx, "c1", RemoveOptions{}),
	} {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	want := []string{
		"POST /v1.41/containers/c1/start?", "POST /v1.41/containers/c2/start?", "POST /v1.41/containers/c1/stop?t=3",
		"POST /v1.41/containers/c1/kill?signal=TERM", "DELETE /v1.41/containers/c1?force=1&v=1", "DELETE /v1.41/containers/c1?",
	}
	if got := d.takeNotes(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n%q\nwant\n%q", got, want)
	}
	d.handle("POST /containers/c1/kill", func(w http.ResponseWriter, r *http.Request) {
		refuse(w, 409, "Container c1 is not running")
	})
	if err := c.ContainerKill(ctx, "c1", "KILL"); !IsConflict(err) || err.Error() != "Container c1 is not running" {
		t.Errorf("kill of a stopped container: %v; want docker's conflict", err)
	}
}

func TestContainerWait(t *testing.T) {
	noEnv(t)
	d := newFakeDaemon(t)
	release := make(chan string)
	registered := make(chan string, 1)
	d.handle("POST /containers/c1/wait", func(w http.ResponseWriter, r *http.Request) {
		registered <- r.URL.Query().Get("condition")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case msg := <-release:
			_ = json.NewEncoder(w).Encode(map[string]any{"StatusCode": 3, "Error": map[string]string{"Message": msg}})
		case <-r.Context().Done():
		}
	})
	d.handle("POST /containers/gone/wait", func(w http.ResponseWriter, r *http.Request) {
		refuse(w, 404, "No such container: gone")
	})
	c := d.client(t)
	ctx := context.Background()

	// ContainerWait returns while the daemon still waits: the wait is
	// registered, and the result comes once the condition is met.
	res, err := c.ContainerWait(ctx, "c1", WaitRemoved)
	if err != nil {
		t.Fatal(err)
	}
	if cond := <-registered; cond != "removed" {
		t.Errorf("condition %q; want removed", cond)
	}
	release <- "removal failed"
	if r := <-res; r.Err != nil || r.StatusCode != 3 || r.Error != "removal failed" {
		t.Errorf("wait result %+v", r)
	}

	// Ending the context ends the wait with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	res, err = c.ContainerWait(cctx, "c1", WaitNotRunning)
	if err != nil {
		t.Fatal(err)
	}
	if cond := <-registered; cond != "not-running" {
		t.Errorf("condition %q; want not-running", cond)
	}
	cancel()
	if r := <-res; !errors.Is(r.Err, context.Canceled) {
		t.Errorf("cancelled wait %+v; want context.Canceled", r)
	}

	if _, err := c.ContainerWait(ctx, "gone", WaitRemoved); !IsNotFound(err) || !strings.Contains(err.Error(), "No such container") {
		t.Errorf("wait for a missing container: %v; want not found at once", err)
	}
}

func TestContainerLogs(t *testing.T) {
	noEnv(t)
	d := newFakeDaemon(t)
	d.handle("GET /containers/c1/logs", func(w http.ResponseWriter, r *http.Request) {
		d.note(r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		_, _ = w.Write(frame(Stdout, "out\n"))
		_, _ = w.Write(frame(Stderr, "err\n"))
	})
	since := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	rc, err := d.client(t).ContainerLogs(context.Background(), "c1",
		LogsOptions{Stdout: true, Stderr: true, Follow: true, Timestamps: true, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := readAll(t, NewFrameReader(rc))
	if want := []string{"1:out\n", "2:err\n"}; !reflect.DeepEqual(got, want) {
		t.Errorf("frames %q; want %q", got, want)
	}
	want := fmt.Sprintf("follow=1&since=%d.000000006&stderr=1&stdout=1&timestamps=1", since.Unix())
	if query := d.takeNotes(); len(query) != 1 || query[0] != want {
		t.Errorf("query %q; want %q", query, want)
	}
}

func TestImages(t *testing.T) {
	noEnv(t)
	d := newFakeDaemon(t)
	d.handle("GET /images/registry.example:5000/team/app:1.2/json", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, map[string]any{"Id": "sha256:abc", "RepoTags": []string{"registry.example:5000/team/app:1.2"}})
	})
	stream := map[string]string{
		"ok":     `{"status":"Pulling from library/ok","id":"latest"}` + "\n" + `{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"x"}` + "\n" + `{"status":"Status: Downloaded newer image for ok:latest"}` + "\n",
		"broken": `{"status":"Pulling from library/broken"}` + "\n" + `{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}` + "\n",
		"detail": `{"errorDetail":{"message":"toomanyrequests: rate limit"}}`,
		"cut":    `{"status":"Pulling`,
	}
	d.handle("POST /images/create", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		d.note(q.Get("fromImage") + " " + q.Get("tag"))
		if q.Get("fromImage") == "private" {
			refuse(w, 404, "pull access denied for private, repository does not exist or may require 'docker login'")
			return
		}
		_, _ = io.WriteString(w, stream[q.Get("fromImage")])
	})
	c := d.client(t)
	ctx := context.Background()
	img, err := c.ImageInspect(ctx, "registry.example:5000/team/app:1.2")
	if err != nil || img.ID != "sha256:abc" {
		t.Errorf("image inspect %+v, %v", img, err)
	}
	if _, err := c.ImageInspect(ctx, "missing:latest"); !IsNotFound(err) {
		t.Errorf("inspecting a missing image: %v; want not found", err)
	}
	if err := c.ImagePull(ctx, "ok"); err != nil {
		t.Errorf("pull: %v", err)
	}
	var pe *PullError
	if err := c.ImagePull(ctx, "broken:1"); !errors.As(err, &pe) || err.Error() != "manifest unknown" || IsConnectionFailed(err) {
		t.Errorf("pull with an error in the stream: %v; want a PullError with docker's message", err)
	}
	if err := c.ImagePull(ctx, "detail"); err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Errorf("pull with an error detail only: %v; want it", err)
	}
	if err := c.ImagePull(ctx, "cut"); err == nil || errors.As(err, &pe) {
		t.Errorf("pull whose stream breaks off: %v; want an error reading it", err)
	}
	if err := c.ImagePull(ctx, "private"); !IsNotFound(err) || !strings.Contains(err.Error(), "pull access denied") {
		t.Errorf("refused pull: %v; want docker's 404 and message", err)
	}
	for _, bad := range []string{"busybox:", "@sha256:abc", ""} {
		if err := c.ImagePull(ctx, bad); err == nil || !strings.Contains(err.Error(), "not valid") {
			t.Errorf("pull of %q: %v; want it refused before asking the daemon", bad, err)
		}
	}
	want := []string{"ok latest", "broken 1", "detail latest", "cut latest", "private latest"}
	if pulls := d.takeNotes(); !reflect.DeepEqual(pulls, want) {
		t.Errorf("pulls %q; want %q", pulls, want)
	}
}

func TestSplitRef(t *testing.T) {
	for ref, want := range map[string][2]string{
		"busybox":                       {"busybox", "latest"},
		"busybox:1.36":                  {"busybox", "1.36"},
		"host:5000/team/app":            {"host:5000/team/app", "latest"},
		"host:5000/team/app:v2":         {"host:5000/team/app", "v2"},
		"app@sha256:abcd":               {"app", "sha256:abcd"},
		"host:5000/app:v2@sha256:abcd":  {"host:5000/app", "sha256:abcd"},
		"brigade-test/busybox:latest":   {"brigade-test/busybox", "latest"},
		"docker.io/library/alpine:3.20": {"docker.io/library/alpine", "3.20"},
	} {
		if repo, tag := splitRef(ref); repo != want[0] || tag != want[1] {
			t.Errorf("splitRef(%q) = %q, %q; want %q", ref, repo, tag, want)
		}
	}
}

func TestErrors(t *testing.T) {
	noEnv(t)
	d := newFakeDaemon(t)
	d.handle("GET /containers/json", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		_, _ = io.WriteString(w, "plain text trouble\n")
	})
	c := d.client(t)
	_, err := c.ContainerList(context.Background(), ListOptions{})
	if StatusCode(err) != 500 || err.Error() != "plain text trouble" || IsNotFound(err) || IsConflict(err) {
		t.Errorf("500 with a text body: %v (status %d)", err, StatusCode(err))
	}
	if StatusCode(errors.New("x")) != 0 || StatusCode(nil) != 0 {
		t.Error("StatusCode of an error that is not the daemon's is not 0")
	}
	wrapped := fmt.Errorf("doing it: %w", &Error{StatusCode: 404, Message: "No such image"})
	if !IsNotFound(wrapped) {
		t.Error("IsNotFound misses a wrapped 404")
	}
}

func TestNoDaemon(t *testing.T) {
	noEnv(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "absent.sock")
	c, err := New("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, perr := c.Ping(ctx)
	_, lerr := c.ContainerList(ctx, ListOptions{})
	for _, err := range []error{perr, lerr} {
		if !IsConnectionFailed(err) || !strings.Contains(err.Error(), "cannot connect to the Docker daemon at unix://"+sock+": is it running?") {
			t.Errorf("without a daemon: %v; want a connection error naming the socket", err)
		}
	}
	// A socket nobody listens on any more refuses.
	l, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	c, _ = New("unix://" + filepath.Join(dir, "s"))
	if _, err := c.Ping(ctx); !IsConnectionFailed(err) || !strings.Contains(err.Error(), "is it running?") {
		t.Errorf("a dead socket: %v; want a connection error", err)
	}
	// The caller's giving up is the caller's, not the daemon's trouble.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Ping(cctx); IsConnectionFailed(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ping: %v; want context.Canceled", err)
	}
}

func TestHosts(t *testing.T) {
	noEnv(t)
	for host, base := range map[string]string{
		"tcp://10.0.0.1":            "http://10.0.0.1:2375",
		"tcp://10.0.0.1:4243":       "http://10.0.0.1:4243",
		"tcp://[::1]:2375/prefix/":  "http://[::1]:2375/prefix",
		"https://docker.example":    "https://docker.example:2376",
		"unix:///run/docker.sock":   "http://docker",
		"unix://relative/dock.sock": "http://docker",
	} {
		c, err := New(host)
		if err != nil || c.base != base || c.Host() != host {
			t.Errorf("New(%q): base %q, err %v; want %q", host, c.base, err, base)
		}
	}
	for host, want := range map[string]string{
		"ssh://me@host":  "scheme ssh is not supported",
		"npipe:////./x":  "scheme npipe is not supported",
		"localhost:2375": "is not an address",
		"tcp://":         "names no host",
		"unix://":        "names no socket",
	} {
		if _, err := New(host); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%q) = %v; want an error saying %q", host, err, want)
		}
	}
	t.Setenv("DOCKER_HOST", "tcp://from-env:1234")
	if c, err := New(""); err != nil || c.base != "http://from-env:1234" {
		t.Errorf("New(\"\") with DOCKER_HOST: %+v, %v", c, err)
	}
	t.Setenv("DOCKER_HOST", "")
	if c, err := New(""); err != nil || c.Host() != DefaultHost {
		t.Errorf("New(\"\") without DOCKER_HOST: %+v, %v", c, err)
	}
}

func TestTLS(t *testing.T) {
	noEnv(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-Version", "1.44")
		if r.URL.Path == "/v1.44/images/busybox/json" {
			answer(w, 200, map[string]string{"Id": "sha256:tls"})
			return
		}
		_, _ = io.WriteString(w, "OK")
	}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	host := "tcp://" + srv.Listener.Addr().String()

	dir := t.TempDir()
	t.Setenv("DOCKER_CERT_PATH", dir)
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	if _, err := New(host); err == nil || !strings.Contains(err.Error(), "ca.pem") {
		t.Errorf("DOCKER_TLS_VERIFY without a CA: %v; want an error naming ca.pem", err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if img, err := c.ImageInspect(context.Background(), "busybox"); err != nil || img.ID != "sha256:tls" {
		t.Errorf("over TLS: %+v, %v", img, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), []byte("nor a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(host); err == nil || !strings.Contains(err.Error(), "client certificate") {
		t.Errorf("a broken client certificate: %v; want an error", err)
	}
}

func TestCopyToContainer(t *testing.T) {
	noEnv(t)
	d := newFakeDaemon(t)
	d.handle("PUT /containers/c1/archive", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.note(r.URL.RawQuery + " " + r.Header.Get("Content-Type") + " " + string(b))
		w.WriteHeader(200)
	})
	d.handle("PUT /containers/c2/archive", func(w http.ResponseWriter, r *http.Request) {
		refuse(w, 404, "Could not find the file /nope in container c2")
	})
	c := d.client(t)
	if err := c.CopyToContainer(context.Background(), "c1", "/", strings.NewReader("tar bytes")); err != nil {
		t.Fatal(err)
	}
	if got, want := d.takeNotes(), []string{"path=%2F application/x-tar tar bytes"}; !reflect.DeepEqual(got, want) {
		t.Errorf("request %q; want %q", got, want)
	}
	if err := c.CopyToContainer(context.Background(), "c2", "/nope", strings.NewReader("")); !IsNotFound(err) {
		t.Errorf("copy to a missing folder: %v; want docker's not found", err)
	}
}
