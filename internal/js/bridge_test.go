package js

import (
	"reflect"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// polyfillDefaultJob is the body the original worker POSTs for
// new Job("x", "alpine", e).run() (docs/scripting.md, "v2 jobs and containers").
const polyfillDefaultJob = `{"apiVersion":"brigade.sh/v2","kind":"Job","name":"x","spec":{` +
	`"primaryContainer":{"image":"alpine","imagePullPolicy":"IfNotPresent","workingDirectory":"","command":[],` +
	`"arguments":[],"environment":{},"workspaceMountPath":"","sourceMountPath":"","privileged":false},` +
	`"sidecarContainers":{},"timeoutDuration":"900s","host":{"nodeSelector":{}},"fallible":false}}`

func TestJobMapping(t *testing.T) {
	want, err := decodeJob(polyfillDefaultJob)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("PolyfillBodyDecodes", func(t *testing.T) {
		exp := core.Job{Name: "x", Spec: core.JobSpec{
			PrimaryContainer: core.JobContainerSpec{ContainerSpec: core.ContainerSpec{
				Image: "alpine", ImagePullPolicy: "IfNotPresent", Command: []string{}, Arguments: []string{}, Environment: map[string]string{},
			}},
			SidecarContainers: map[string]core.JobContainerSpec{},
			TimeoutDuration:   "900s",
			Host:              &core.JobHost{NodeSelector: map[string]string{}},
		}}
		if !reflect.DeepEqual(want, exp) {
			t.Fatalf("decoded %+v\nwant    %+v", want, exp)
		}
	})

	t.Run("DefaultJobEqualsPolyfill", func(t *testing.T) {
		host := &fakeHost{}
		code, err, log := runScript(t, testContext(t), "brigade.js", `
const { Job } = require("@brigadecore/brigadier");
new Job("x", "alpine", {}).run();
`, Options{Host: host})
		if err != nil || code != 0 {
			t.Fatalf("Run = %d, %v\n%s", code, err, log)
		}
		jobs := host.Jobs()
		if len(jobs) != 1 || !reflect.DeepEqual(jobs[0], want) {
			t.Fatalf("created %+v\nwant     %+v", jobs, want)
		}
	})

	t.Run("RejectsWhatTheSchemaWould", func(t *testing.T) {
		for name, body := range map[string]string{
			"UnknownContainerField": strings.Replace(polyfillDefaultJob, `"privileged":false}`, `"privileged":false,"colour":"red"}`, 1),
			"NonStringEnv":          strings.Replace(polyfillDefaultJob, `"environment":{}`, `"environment":{"N":1}`, 1),
			"UnknownSpecField":      strings.Replace(polyfillDefaultJob, `"fallible":false`, `"fallible":false,"retries":3`, 1),
		} {
			if _, err := decodeJob(body); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
}

func TestModules(t *testing.T) {
	code, err, log := runScript(t, testContext(t), "brigade.js", `
const path = require("node:path");
const util = require("util");
console.log(path.normalize("a//b/../c/"), path.dirname("/a/b/"), path.relative("/a/b/c", "/a/d"), path.resolve("x"));
console.log(JSON.stringify(path.parse("/home/u/file.tar.gz")));
console.log(util.inspect("str"), util.inspect([1, [2, [3, [4]]]]), util.inspect(new Error("e")).split("\n")[0]);
util.promisify((a, cb) => cb(null, a * 2))(21).then(v => console.log("promisified", v));
const b = require("@brigadecore/brigadier");
console.log(Object.keys(b).sort().join(","));
console.log(typeof b.ImagePullPolicy.Always, new b.Container("img").imagePullPolicy, new b.JobHost().os);
try { require("brigadier"); } catch (e) { console.log(e.message); }
try { require("left-pad"); } catch (e) { console.log(e.message); }
`, Options{})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, log)
	}
	for _, want := range []string{
		"a/c/ /a ../../d /",
		`{"root":"/","dir":"/home/u","base":"file.tar.gz","ext":".gz","name":"file.tar"}`,
		"'str' [ 1, [ 2, [ 3, [Array] ] ] ] Error: e",
		"promisified 42",
		"ConcurrentGroup,Container,EventRegistry,ImagePullPolicy,Job,JobHost,Logger,SerialGroup,events,logger",
		"string IfNotPresent undefined",
		`Cannot find module 'brigadier': cannot load "brigadier" (brigadier v1): the script already uses brigadier v2, and one script can use only one`,
		"Cannot find module 'left-pad': packages are bundled from node_modules",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q", want)
		}
	}
	if t.Failed() {
		t.Log(log)
	}
}

// A v1 script that requires brigadier only after its top-level code has
// run still gets its event fired (on the next loop turn).
func TestV1LazyRequireFiresEvent(t *testing.T) {
	code, err, log := runScript(t, testContext(t), "brigade.js", `
setTimeout(() => {
  const { events } = require("brigadier");
  events.on("exec", (e, p) => console.log("late handler", e.type, p.id));
}, 1);
`, Options{})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, log)
	}
	if !strings.Contains(log, "late handler exec p\n") || !strings.Contains(log, " INFO: after: default event fired") {
		t.Errorf("log:\n%s", log)
	}
}

// TestJobPhasesAskedFor checks what createJob tells the Host about the
// phases waitJob's caller needs: v2 logs the phases before the last only
// at DEBUG, so below it the Host may follow the terminal phase alone; v1
// logs every phase as it comes, at INFO.
func TestJobPhasesAskedFor(t *testing.T) {
	v1 := `
const { events, Job } = require("brigadier");
events.on("exec", () => { new Job("x", "alpine", ["true"]).run(); });
`
	v2 := `
const { Job } = require("@brigadecore/brigadier");
new Job("x", "alpine", {}).run();
`
	for _, c := range []struct {
		name, script, level string
		want                bool
		wantLog             string
	}{
		{"V2AtInfo", v2, "INFO", false, ""},
		{"V2AtDebug", v2, "DEBUG", true, "Current job phase is RUNNING"},
		{"V1AtInfo", v1, "INFO", true, "job x started (RUNNING)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			host := &fakeHost{}
			opts := Options{Host: host, LogLevel: c.level}
			if c.script == v1 {
				opts.Event = map[string]any{"type": "exec"}
			}
			code, err, log := runScript(t, testContext(t), "brigade.js", c.script, opts)
			if err != nil || code != 0 {
				t.Fatalf("Run = %d, %v\n%s", code, err, log)
			}
			if got := host.PhasesWanted("x"); got != c.want {
				t.Errorf("CreateJob's phases = %v, want %v\n%s", got, c.want, log)
			}
			if c.wantLog != "" && !strings.Contains(log, c.wantLog) {
				t.Errorf("log lacks %q:\n%s", c.wantLog, log)
			}
		})
	}
}
