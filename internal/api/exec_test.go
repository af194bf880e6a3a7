package api

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

func TestEventConfigFiles(t *testing.T) {
	user := &auth.Principal{Kind: auth.KindUser, ID: "u", Projects: []auth.Assignment{
		{Role: auth.RoleProjectUser, Project: "demo"},
	}}
	developer := &auth.Principal{Kind: auth.KindUser, ID: "d", Projects: []auth.Assignment{
		{Role: auth.RoleProjectUser, Project: "demo"}, {Role: auth.RoleProjectDeveloper, Project: "demo"},
	}}
	exec := func(project string, files map[string]string) *core.Event {
		return &core.Event{ProjectID: project, Source: "brigade.sh/cli", Type: "exec", ConfigFiles: files}
	}
	script := map[string]string{"brigade.js": "console.log(1)"}
	var (
		bad   *core.BadRequestError
		authz *core.AuthorizationError
	)
	cases := []struct {
		name string
		who  *auth.Principal
		ev   *core.Event
		want any // nil, &bad or &authz
	}{
		{"NoFilesNeedNothingMore", user, exec("demo", nil), nil},
		{"DeveloperMayExec", developer, exec("demo", script), nil},
		{"RootMayExec", auth.Root("s"), exec("demo", script), nil},
		{"UserMayNot", user, exec("demo", script), &authz},
		{"DeveloperOfAnotherProjectMayNot", developer, exec("other", script), &authz},
		{"WorkerMayNot", auth.Worker("e1"), exec("demo", script), &authz},
		{"SchedulerMayNot", auth.Scheduler(), exec("demo", script), &authz},
		{"ProjectIDRequired", auth.Root("s"), exec("", script), &bad},
		{"DotDotRefused", auth.Root("s"), exec("demo", map[string]string{"../brigade.js": ""}), &bad},
		{"AbsoluteRefused", auth.Root("s"), exec("demo", map[string]string{"/etc/passwd": ""}), &bad},
		{"EmptySegmentRefused", auth.Root("s"), exec("demo", map[string]string{"a//b": ""}), &bad},
		{"SubfolderAllowed", auth.Root("s"), exec("demo", map[string]string{"lib/util.js": ""}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkEventConfigFiles(auth.With(context.Background(), c.who), c.ev)
			switch want := c.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case **core.BadRequestError:
				if !errors.As(err, want) {
					t.Fatalf("got %v, want a BadRequestError", err)
				}
			case **core.AuthorizationError:
				if !errors.As(err, want) || !strings.Contains(err.Error(), "PROJECT_DEVELOPER") {
					t.Fatalf("got %v, want an AuthorizationError naming PROJECT_DEVELOPER", err)
				}
			}
		})
	}
}

func TestBuildWorkerConfigFiles(t *testing.T) {
	p := &core.Project{Metadata: core.ObjectMeta{ID: "demo"}, Spec: core.ProjectSpec{WorkerTemplate: core.WorkerSpec{
		DefaultConfigFiles: map[string]string{"brigade.js": "project"},
	}}}
	ev := &core.Event{ProjectID: "demo", ConfigFiles: map[string]string{"brigade.js": "mine"}}
	w := buildWorker(p, ev, nil)
	if w.Spec.ConfigFiles["brigade.js"] != "mine" || w.Spec.DefaultConfigFiles["brigade.js"] != "project" {
		t.Fatalf("spec: %+v", w.Spec)
	}
	w.Spec.ConfigFiles["brigade.js"] = "changed"
	if ev.ConfigFiles["brigade.js"] != "mine" || p.Spec.WorkerTemplate.ConfigFiles != nil {
		t.Fatal("the worker spec shares its files with the event or the project")
	}

	orig := &core.Event{Metadata: core.ObjectMeta{ID: "e1"}, ProjectID: "demo", Worker: w}
	again := copyForRecreate(orig, core.LabelRetryOf)
	if again.ConfigFiles["brigade.js"] != "changed" {
		t.Fatalf("a retry lost the files: %+v", again.ConfigFiles)
	}
	if plain := buildWorker(p, &core.Event{ProjectID: "demo"}, nil); plain.Spec.ConfigFiles != nil {
		t.Fatalf("an ordinary event got files: %+v", plain.Spec.ConfigFiles)
	}
}
