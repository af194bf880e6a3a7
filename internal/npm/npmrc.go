package npm

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// DefaultRegistry is where packages come from unless .npmrc says otherwise.
const DefaultRegistry = "https://registry.npmjs.org/"

// Config is what the project's .npmrc says about registries and their
// credentials.
type Config struct {
	Registry string            // the default registry, ending in "/"
	Scopes   map[string]string // "@scope" → its registry, ending in "/"
	auth     map[string]string // "//host/path/" → Authorization header value
}

// envRef is ${NAME}, or ${NAME?} which npm reads as empty when unset.
var envRef = regexp.MustCompile(`\$\{([^}?]+)(\?)?\}`)

// ParseNpmrc reads .npmrc (ini: key=value lines, ";" and "#" comments):
// registry=, @scope:registry=, //host/path/:_authToken=, :_auth= and
// :username= with :_password= (base64). ${NAME} in a value is taken from
// env; an unset one is an error. Other settings are ignored.
func ParseNpmrc(data string, env map[string]string) (Config, error) {
	c := Config{Registry: DefaultRegistry, Scopes: map[string]string{}, auth: map[string]string{}}
	users := map[string]string{}
	passwords := map[string]string{}
	for n, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' || line[0] == '#' || line[0] == '[' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), unquote(strings.TrimSpace(val))
		var missing string
		val = envRef.ReplaceAllStringFunc(val, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			v, ok := env[m[1]]
			if !ok && m[2] == "" && missing == "" {
				missing = m[1]
			}
			return v
		})
		if missing != "" {
			return c, fmt.Errorf(".npmrc line %d: ${%s} is not set; set it in the project's secrets or its worker environment", n+1, missing)
		}
		switch {
		case key == "registry":
			r, err := registryURL(val)
			if err != nil {
				return c, fmt.Errorf(".npmrc line %d: %w", n+1, err)
			}
			c.Registry = r
		case strings.HasPrefix(key, "@") && strings.HasSuffix(key, ":registry"):
			r, err := registryURL(val)
			if err != nil {
				return c, fmt.Errorf(".npmrc line %d: %w", n+1, err)
			}
			c.Scopes[strings.TrimSuffix(key, ":registry")] = r
		case key == "_authToken" || key == "_auth":
			// old style, for the default registry; resolved below
			c.auth["default:"+key] = val
		case strings.HasPrefix(key, "//"):
			i := strings.LastIndex(key, ":")
			if i < 0 {
				continue
			}
			nerf, field := key[:i], key[i+1:]
			if !strings.HasSuffix(nerf, "/") {
				nerf += "/"
			}
			switch field {
			case "_authToken":
				c.auth[nerf] = "Bearer " + val
			case "_auth":
				c.auth[nerf] = "Basic " + val
			case "username":
				users[nerf] = val
			case "_password":
				passwords[nerf] = val
			}
		}
	}
	for nerf, u := range users {
		if p, ok := passwords[nerf]; ok {
			pw, err := base64.StdEncoding.DecodeString(p)
			if err != nil {
				return c, fmt.Errorf(".npmrc: %s:_password must be base64", nerf)
			}
			c.auth[nerf] = "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+string(pw)))
		}
	}
	def := nerfDart(c.Registry)
	if t, ok := c.auth["default:_authToken"]; ok {
		c.auth[def] = "Bearer " + t
	} else if t, ok := c.auth["default:_auth"]; ok {
		c.auth[def] = "Basic " + t
	}
	delete(c.auth, "default:_authToken")
	delete(c.auth, "default:_auth")
	return c, nil
}

func registryURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("registry %q is not an http or https URL", s)
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

// nerfDart is a URL without its scheme, query and file name: the form
// .npmrc keys credentials by ("//host:port/path/").
func nerfDart(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	p := u.Path
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[:i+1]
	} else {
		p = "/"
	}
	return "//" + u.Host + p
}

// registryFor is the registry of a package name (its scope's, if set).
func (c Config) registryFor(name string) string {
	if strings.HasPrefix(name, "@") {
		scope, _, _ := strings.Cut(name, "/")
		if r, ok := c.Scopes[scope]; ok {
			return r
		}
	}
	return c.Registry
}

// authFor is the Authorization header for a URL: the credentials whose
// key is the longest prefix of the URL's nerf-dart, so a token is only
// ever sent to the host and path it was given for.
func (c Config) authFor(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	target := "//" + u.Host + u.Path
	best, header := "", ""
	for k, v := range c.auth {
		if strings.HasPrefix(target, k) && len(k) > len(best) {
			best, header = k, v
		}
	}
	return header
}
