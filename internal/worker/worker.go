// Package worker runs one event's script: it reads event.json, lays out the
// config files (a git checkout and/or the project's defaultConfigFiles),
// runs brigade.ts/brigade.js in the embedded JavaScript runtime, and exits
// with the script's code. It reaches the platform only through the API,
// with the token scoped to its event, on every substrate.
package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/js"
	"github.com/brigadeplatform/brigade/internal/npm"
)

// Options configure a worker run.
type Options struct {
	EventFile string // path of event.json
	SourceDir string // where the git checkout goes (default: source/ beside event.json)
	// SourceReady says SourceDir already holds the event's checkout (a
	// worker pod's git-init init container made it): the worker does not
	// clone again. The substrate sets BRIGADE_SOURCE_READY=1.
	SourceReady bool
	Stdout      io.Writer // the worker log, written through a buffer that Run flushes every few milliseconds and before it returns
	Version     string
	// NpmCache is the project's package cache folder (the substrate sets
	// BRIGADE_NPM_CACHE); "" downloads every package anew.
	NpmCache string
	// APIOutage is how long a call may go on failing for want of the API
	// server (refused, dropped, a 5xx) before the worker gives up on it
	// (default 5 minutes).
	APIOutage time.Duration
}

// Run runs the worker and returns its exit code: 0 for success.
func Run(ctx context.Context, opts Options) int {
	if opts.Stdout != nil {
		out := newOutput(opts.Stdout)
		defer out.Close() // on every return, and while a panic unwinds
		opts.Stdout = out
	}
	w := &logWriter{out: opts.Stdout}
	w.log("INFO", "brigade-worker version: %s", opts.Version)
	raw, err := os.ReadFile(opts.EventFile)
	if err != nil {
		w.log("ERROR", "reading the event document %s: %v", opts.EventFile, err)
		return 1
	}
	doc, event, err := decodeEventDocument(raw)
	if err != nil {
		w.log("ERROR", "the event document %s %v", opts.EventFile, err)
		return 1
	}
	w.level = strings.ToUpper(doc.Worker.LogLevel)
	src := opts.SourceDir
	if src == "" {
		src = filepath.Join(filepath.Dir(opts.EventFile), "source")
	}
	// Over TLS, the server's own certificate is trusted, and any other is
	// verified as usual: nothing skips verification.
	api := apiClient(doc.Worker.APIAddress, doc.Worker.APICertificate).WithToken(doc.Worker.APIToken)
	rc := defaultReconnect(w)
	if opts.APIOutage > 0 {
		rc.budget = opts.APIOutage
	}
	if doc.Worker.SecretsFromAPI {
		if err := fetchSecrets(ctx, api, rc, &doc, event); err != nil {
			w.log("ERROR", "%v", err)
			return 1
		}
	}
	if doc.Worker.Git != nil && opts.SourceReady {
		w.log("DEBUG", "the source in %s was checked out before the worker started", src)
		if err := dropEscapingLinks(src, w); err != nil { // layout.go
			w.log("ERROR", "%v", err)
			return 1
		}
	} else if doc.Worker.Git != nil {
		vcs := newVCSLog(api, doc.ID, opts.Stdout)
		err := checkout(ctx, doc.Worker.Git, doc.Project.Secrets, src, vcs)
		vcs.Close()
		if err != nil {
			w.log("ERROR", "%s", vcs.cloneFailed(doc.Worker.Git.CloneURL, doc.ID, err))
			return 1
		}
		if err := dropEscapingLinks(src, w); err != nil { // layout.go
			w.log("ERROR", "%v", err)
			return 1
		}
	}
	dir, err := layOut(src, &doc, w)
	if err != nil {
		w.log("ERROR", "%v", err)
		return 1
	}
	if err := installDependencies(ctx, dir, opts.NpmCache, &doc, w); err != nil {
		w.log("ERROR", "%v", err)
		return 1
	}
	code, err := js.Run(ctx, js.Options{
		Dir: dir, Event: event, Host: &host{api: api, eventID: doc.ID, rc: rc},
		Stdout: opts.Stdout, LogLevel: doc.Worker.LogLevel, Env: doc.Worker.Environment,
	})
	if err != nil {
		w.log("ERROR", "running the script: %v", err)
		return 1
	}
	return code
}

// decodeEventDocument decodes event.json twice: into the typed document
// the worker acts on, and into the event as scripts see it (every field,
// known or not).
func decodeEventDocument(raw []byte) (core.EventDocument, map[string]any, error) {
	var doc core.EventDocument
	var event map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return doc, nil, fmt.Errorf("is not valid JSON: %w", err)
	}
	if err := json.Unmarshal(raw, &event); err != nil {
		return doc, nil, fmt.Errorf("is not a JSON object: %w", err)
	}
	return doc, event, nil
}

// fetchSecrets reads the project's secrets from the API (the server keeps
// them out of event.json) into doc and into the event scripts see, where
// event.project.secrets is what it would have been in the file. A server
// that cannot be reached yet (restarting) is asked again (see reconnect).
func fetchSecrets(ctx context.Context, api *client.Client, rc *reconnect, doc *core.EventDocument, event map[string]any) error {
	var secrets map[string]string
	err := rc.do(ctx, "fetching the project's secrets", func() error {
		var err error
		secrets, err = api.WorkerSecrets(ctx, doc.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("fetching the project's secrets from the API: %w", err)
	}
	doc.Project.Secrets = secrets
	scripted := make(map[string]any, len(secrets)) // {} when there are none, as in the file
	for k, v := range secrets {
		scripted[k] = v
	}
	if p, ok := event["project"].(map[string]any); ok {
		p["secrets"] = scripted
	}
	if wk, ok := event["worker"].(map[string]any); ok {
		delete(wk, "secretsFromAPI")
	}
	return nil
}

// installDependencies installs what the config folder's package.json
// depends on into its node_modules, where the bundler finds it (the
// original worker ran npm or yarn install --prod here). ${NAME} in .npmrc
// comes from the project's secrets, or the worker template's environment.
func installDependencies(ctx context.Context, dir, cache string, doc *core.EventDocument, w *logWriter) error {
	env := map[string]string{}
	for k, v := range doc.Project.Secrets {
		env[k] = v
	}
	for k, v := range doc.Worker.Environment {
		if _, secret := env[k]; !secret {
			env[k] = v
		}
	}
	_, err := npm.Install(ctx, npm.Options{Dir: dir, CacheDir: cache, Env: env,
		Log: func(level, msg string) { w.log(level, "%s", msg) }})
	if err != nil {
		return fmt.Errorf("installing the dependencies of package.json: %w", err)
	}
	return nil
}

// layOut makes the config folder inside src and writes the project's
// default config files and the event's own files into it; it returns the
// folder's path.
func layOut(src string, doc *core.EventDocument, w *logWriter) (string, error) {
	root, dir, err := configDir(src, doc.Worker.ConfigFilesDirectory, w) // layout.go
	if err != nil {
		return "", err
	}
	defer root.Close()
	if err := writeDefaults(root, dir, doc.Worker.DefaultConfigFiles, w); err != nil {
		return "", err
	}
	if err := writeEventFiles(root, dir, doc.Worker.ConfigFiles, w); err != nil {
		return "", err
	}
	return dir, nil
}

// writeDefaults writes the project's defaultConfigFiles into the config
// folder dir, open as root; files that came from git win (docs/worker.md,
// "Laying out the config folder").
func writeDefaults(root *os.Root, dir string, files map[string]string, w *logWriter) error {
	for name, content := range files {
		p, err := configFilePath(dir, name)
		if err != nil {
			return fmt.Errorf("default %w", err)
		}
		rel, _ := filepath.Rel(dir, p)
		if _, err := root.Lstat(rel); err == nil {
			w.log("WARN", "%s already exists; refusing to overwrite it with default %s", p, name)
			continue
		}
		w.log("DEBUG", "writing default %s to %s", name, p)
		if err := writeConfigFile(root, rel, content); err != nil {
			return fmt.Errorf("writing default config file %s: %w", p, err)
		}
	}
	return nil
}

// writeConfigFile writes a file under root, making its folder first when
// it is not root itself.
func writeConfigFile(root *os.Root, rel, content string) error {
	if sub := filepath.Dir(rel); sub != "." {
		if err := root.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("creating its folder: %w", err)
		}
	}
	return root.WriteFile(rel, []byte(content), 0o644)
}

// scriptNames are the entry scripts a worker looks for; brigade.ts wins.
var scriptNames = []string{"brigade.ts", "brigade.js"}

// writeEventFiles writes the event's own config files (`brig exec -f`)
// into the config folder dir, open as root, over defaults and files from
// git. When they bring a script, any other script name is removed, so that
// theirs runs.
func writeEventFiles(root *os.Root, dir string, files map[string]string, w *logWriter) error {
	for name, content := range files {
		p, err := configFilePath(dir, name)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w.log("DEBUG", "writing the event's %s to %s", name, p)
		if fi, err := root.Lstat(rel); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			root.Remove(rel) // replace a link from git, never write through it
		}
		if err := writeConfigFile(root, rel, content); err != nil {
			return fmt.Errorf("writing the event's config file %s: %w", p, err)
		}
	}
	for _, given := range scriptNames {
		if _, ok := files[given]; !ok {
			continue
		}
		for _, other := range scriptNames {
			if _, ok := files[other]; ok {
				continue
			}
			p := filepath.Join(dir, other)
			if err := root.Remove(other); err == nil {
				w.log("DEBUG", "removed %s so that the event's %s runs", p, given)
			} else if !os.IsNotExist(err) {
				return fmt.Errorf("removing %s so that the event's %s runs: %w", p, given, err)
			}
		}
	}
	return nil
}

// configFilePath is where a config file named name goes under dir; names
// that would leave dir are refused.
func configFilePath(dir, name string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(name))
	if name == "" || filepath.IsAbs(clean) || clean == "." || clean == ".." ||
		strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("config file name %q leaves the config folder", name)
	}
	return filepath.Join(dir, clean), nil
}

// logWriter writes the worker's own lines in the winston format the
// original worker used: "<ISO time> <LEVEL>: <message>".
type logWriter struct {
	out   io.Writer
	level string
}

var levels = map[string]int{"ERROR": 0, "WARN": 1, "INFO": 2, "DEBUG": 3}

func (w *logWriter) log(level, format string, args ...any) {
	if w.out == nil {
		return
	}
	max, ok := levels[w.level]
	if !ok {
		max = levels["INFO"]
	}
	if levels[level] > max && w.level != "" {
		return
	}
	if w.level == "" && level == "DEBUG" {
		return
	}
	fmt.Fprintf(w.out, "%s %s: %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), level, fmt.Sprintf(format, args...))
}

// apiClients holds one API client (without a token) per server address and
// certificate for the life of the process. A standby worker runs event
// after event against the same server: each run sends its requests over
// the connections the last one left open, instead of dialling anew (a dial
// and an accept per event, on both sides). The server keeps idle
// connections open; one it closed meanwhile is noticed and dropped by the
// transport, and a request that still meets one is retried like any other
// the server did not answer.
var apiClients sync.Map // address + "\x00" + certificate → *client.Client

func apiClient(address, certificate string) *client.Client {
	key := address + "\x00" + certificate
	if c, ok := apiClients.Load(key); ok {
		return c.(*client.Client)
	}
	c, _ := apiClients.LoadOrStore(key, client.New(address, "", client.WithServerCert([]byte(certificate))))
	return c.(*client.Client)
}
