package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/brigadeplatform/brigade/internal/client"
)

// Environment variables brig reads.
const (
	envConfig       = "BRIGADE_CONFIG"        // path of the login file
	envServer       = "BRIGADE_SERVER"        // overrides the saved server
	envToken        = "BRIGADE_TOKEN"         // overrides the saved token
	envRootPassword = "BRIGADE_ROOT_PASSWORD" // brig login --root without -p
)

// exampleServer is the address of a default local server.
const exampleServer = "http://127.0.0.1:7745"

// errNotLoggedIn says what to do when no server or token is known.
var errNotLoggedIn = errors.New("not logged in: run `brig login -s " + exampleServer +
	" --root` (or set " + envServer + " and " + envToken + ")")

// config is what `brig login` saves.
type config struct {
	Server   string `json:"server"`
	Token    string `json:"token"`
	Insecure bool   `json:"insecure,omitempty"`
}

// configPath is $BRIGADE_CONFIG, or ~/.brigade/config.
func (a *app) configPath() (string, error) {
	if p := a.env.Getenv(envConfig); p != "" {
		return p, nil
	}
	home := a.env.Getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("finding the home folder for ~/.brigade/config: %w (set %s to a file path)", err, envConfig)
		}
	}
	return filepath.Join(home, ".brigade", "config"), nil
}

// loadConfig reads the login file; a missing file gives an empty config.
func (a *app) loadConfig() (config, string, error) {
	var cfg config
	path, err := a.configPath()
	if err != nil {
		return cfg, "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, path, nil
	}
	if err != nil {
		return cfg, path, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, path, fmt.Errorf("%s is not a brig login file: %w (delete it and run `brig login` again)", path, err)
	}
	return cfg, path, nil
}

// saveConfig writes the login file readable by its owner only, replacing
// any old one in one step.
func saveConfig(path string, cfg config) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w (set %s to a writable path)", dir, err, envConfig)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config-*")
	if err != nil {
		return fmt.Errorf("saving the login to %s: %w (set %s to a writable path)", path, err, envConfig)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("saving the login to %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("saving the login to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("saving the login to %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("saving the login to %s: %w", path, err)
	}
	return nil
}

// settings resolves the server and token: environment first, then the
// login file. needToken false accepts a server without a token.
func (a *app) settings(needToken bool) (config, error) {
	cfg, _, err := a.loadConfig()
	if err != nil {
		return cfg, err
	}
	if s := strings.TrimRight(a.env.Getenv(envServer), "/"); s != "" {
		if s != cfg.Server {
			// The saved token and setting were for another server: never
			// send that token elsewhere.
			cfg.Token, cfg.Insecure = "", false
		}
		cfg.Server = s
	}
	if t := a.env.Getenv(envToken); t != "" {
		cfg.Token = t
	}
	if cfg.Server == "" || (needToken && cfg.Token == "") {
		return cfg, errNotLoggedIn
	}
	return cfg, nil
}

// newClient builds a client of the given server.
func (a *app) newClient(cfg config) *client.Client {
	opts := []client.Option{client.WithUserAgent("brig/" + a.env.Version)}
	if a.env.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(a.env.HTTPClient))
	}
	opts = append(opts, client.WithInsecureTLS(cfg.Insecure))
	return client.New(cfg.Server, cfg.Token, opts...)
}

// client builds a client of the logged-in server.
func (a *app) client() (*client.Client, error) {
	cfg, err := a.settings(true)
	if err != nil {
		return nil, err
	}
	return a.newClient(cfg), nil
}
