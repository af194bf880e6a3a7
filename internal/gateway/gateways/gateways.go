// Package gateways lists the built-in gateways: their configuration and
// flags, shared by `brigade server` (which mounts them) and
// `brigade gateway NAME` (which runs one alone).
package gateways

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway"
	"github.com/brigadeplatform/brigade/internal/gateway/cloudevents"
	"github.com/brigadeplatform/brigade/internal/gateway/cron"
	"github.com/brigadeplatform/brigade/internal/gateway/generic"
	"github.com/brigadeplatform/brigade/internal/gateway/github"
)

// Config is the configuration of every built-in gateway.
type Config struct {
	CloudEvents cloudevents.Config
	// CronFile is the cron gateway's schedules (YAML); empty: it is off.
	CronFile string
	GitHub   github.Config
	Generic  generic.Config
	// Extra are gateways beyond the built-in ones (tests, embedders).
	Extra []Builder
}

// Builder makes one gateway. Build returns a nil Gateway when the
// gateway's configuration leaves it off (cron without a schedule file).
type Builder struct {
	Name   string // as in `brigade gateway NAME`
	Source string // the event source its token may create events for
	Build  func(env gateway.Env) (gateway.Gateway, error)
}

// Flags registers every gateway's flags on f.
func (c *Config) Flags(f *pflag.FlagSet) {
	c.CloudEvents.Flags(f)
	f.StringVar(&c.CronFile, "cron-file", "", "YAML file of schedules whose events the cron gateway creates (docs/gateways.md, Cron); without it, cron is off")
	c.GitHub.Flags(f)
	c.Generic.Flags(f)
}

func (c *Config) builders() []Builder {
	var all []Builder
	all = append(all, Builder{Name: cloudevents.Name, Source: cloudevents.Source, Build: func(env gateway.Env) (gateway.Gateway, error) {
		return cloudevents.New(c.CloudEvents, env)
	}})
	all = append(all, Builder{Name: cron.Name, Source: cron.Source, Build: func(env gateway.Env) (gateway.Gateway, error) {
		return cron.Build(c.CronFile, env)
	}})
	all = append(all, Builder{Name: "github", Source: github.Source, Build: c.GitHub.Build})
	all = append(all, Builder{Name: generic.Name, Source: core.GenericGatewaySource,
		Build: func(env gateway.Env) (gateway.Gateway, error) { return generic.New(c.Generic, env) }})
	return append(all, c.Extra...)
}

// Names are the gateways `brigade gateway NAME` knows, sorted.
func (c *Config) Names() []string {
	var names []string
	for _, b := range c.builders() {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	return names
}

// Build makes the gateways that the configuration turns on, or only the
// one called only when it is not empty (an unknown name is an error).
// envFor gives each its Env, given its name and event source.
func (c *Config) Build(only string, envFor func(name, source string) gateway.Env) ([]gateway.Gateway, error) {
	var out []gateway.Gateway
	found := false
	for _, b := range c.builders() {
		if only != "" && b.Name != only {
			continue
		}
		found = true
		g, err := b.Build(envFor(b.Name, b.Source))
		if err != nil {
			return nil, fmt.Errorf("gateway %s: %w", b.Name, err)
		}
		if g != nil {
			out = append(out, g)
		}
	}
	if only != "" && !found {
		return nil, fmt.Errorf("no gateway is called %q: choose one of %s", only, strings.Join(c.Names(), ", "))
	}
	return out, nil
}
