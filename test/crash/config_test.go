package crash

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// config is one run's size, read from the environment so that CI and a
// person replaying a failure set it the same way.
type config struct {
	seed    int64
	kills   int           // SIGKILLs before the final restart
	events  int           // events the clients stop at (0: until the last kill)
	clients int           // concurrent clients creating events
	maxUp   time.Duration // longest time the server runs before a kill
}

// The variables that size a run. BRIGADE_TEST_CRASH=1 runs it at all.
const (
	envRun     = "BRIGADE_TEST_CRASH"
	envSeed    = "BRIGADE_CRASH_SEED"
	envKills   = "BRIGADE_CRASH_KILLS"
	envEvents  = "BRIGADE_CRASH_EVENTS"
	envClients = "BRIGADE_CRASH_CLIENTS"
	envMaxUp   = "BRIGADE_CRASH_MAX_UP"
	envFigures = "BRIGADE_CRASH_FIGURES"
)

func loadConfig(t *testing.T) config {
	t.Helper()
	c := config{seed: time.Now().UnixNano(), kills: 200, clients: 6, maxUp: 1500 * time.Millisecond}
	ints := []struct {
		name string
		dst  *int
		min  int
	}{{envKills, &c.kills, 0}, {envEvents, &c.events, 0}, {envClients, &c.clients, 1}}
	for _, v := range ints {
		if s := os.Getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < v.min {
				t.Fatalf("%s=%q: want a whole number of at least %d", v.name, s, v.min)
			}
			*v.dst = n
		}
	}
	if s := os.Getenv(envSeed); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want the whole number a failed run printed", envSeed, s)
		}
		c.seed = n
	}
	if s := os.Getenv(envMaxUp); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 10*time.Millisecond {
			t.Fatalf("%s=%q: want a duration of at least 10ms, e.g. 1500ms", envMaxUp, s)
		}
		c.maxUp = d
	}
	return c
}

// replay is the command that runs the same schedule again.
func (c config) replay() string {
	return fmt.Sprintf("%s=1 %s=%d %s=%d %s=%d %s=%d %s=%s go test -count=1 -timeout 60m -v -run TestCrash ./test/crash",
		envRun, envSeed, c.seed, envKills, c.kills, envEvents, c.events, envClients, c.clients, envMaxUp, c.maxUp)
}
