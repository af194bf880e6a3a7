package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	ce "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/gateway/cloudevents"
	"github.com/brigadeplatform/brigade/internal/server"
)

// A script that logs the CloudEvent its event carries.
const cloudEventScript = `const { events } = require("@brigadecore/brigadier");
events.on("brigade.sh/cloudevents", "cloudevent", async event => {
  const ce = JSON.parse(event.payload);
  console.log("cloudevent " + ce.id + " from " + ce.source + ": " + ce.data.greeting);
});
events.process();`

// TestCloudEventFromTheSDK: a CloudEvent sent by the official CloudEvents
// Go SDK's HTTP client, in binary and in structured mode, reaches a
// subscribed project through the gateway mounted on the server, and the
// project's script runs with it.
func TestCloudEventFromTheSDK(t *testing.T) {
	rs := startRunning(t, t.TempDir(), server.Config{})
	p := &core.Project{Metadata: core.ObjectMeta{ID: "ce-sdk"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: cloudevents.Source, Types: []string{cloudevents.EventType},
			Qualifiers: map[string]string{"source": "example.com/sdk", "type": "com.example.greeting"}}},
		WorkerTemplate: core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": cloudEventScript}},
	}}
	if _, err := rs.c.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	tok, err := rs.c.CreateServiceAccount(t.Context(), "sdk-sender", "sends CloudEvents with the SDK")
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.c.GrantRole(t.Context(), core.RoleAssignment{Role: "EVENT_CREATOR", Scope: cloudevents.Source,
		Principal: core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: "sdk-sender"}}); err != nil {
		t.Fatal(err)
	}
	sdk, err := ce.NewClientHTTP(cehttp.WithTarget(rs.srv.URL()+"/gateways/cloudevents"),
		cehttp.WithHeader("Authorization", "Bearer "+tok.Value))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		ctx  func(context.Context) context.Context
	}{{"binary", binding.WithForceBinary}, {"structured", binding.WithForceStructured}} {
		t.Run(mode.name, func(t *testing.T) {
			e := ce.NewEvent()
			e.SetID("sdk-" + mode.name)
			e.SetSource("example.com/sdk")
			e.SetType("com.example.greeting")
			e.SetTime(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
			if err := e.SetData(ce.ApplicationJSON, map[string]string{"greeting": "hello in " + mode.name}); err != nil {
				t.Fatal(err)
			}
			res := sdk.Send(mode.ctx(t.Context()), e)
			var hres *cehttp.Result
			if !ce.IsACK(res) || !ce.ResultAs(res, &hres) || hres.StatusCode != 200 {
				t.Fatalf("sending: %v", res)
			}
			list, err := rs.c.ListEvents(t.Context(), &client.EventSelector{ProjectID: "ce-sdk"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			id := ""
			for _, ev := range list.Items {
				if strings.Contains(ev.Payload, `"id":"sdk-`+mode.name+`"`) {
					id = ev.Metadata.ID
				}
			}
			if id == "" {
				t.Fatalf("no event of project ce-sdk carries the CloudEvent (%d events)", len(list.Items))
			}
			if ev := rs.waitWorker(t, id); ev.Worker.Status.Phase != core.PhaseSucceeded {
				t.Fatalf("worker %s", ev.Worker.Status.Phase)
			}
			want := "cloudevent sdk-" + mode.name + " from example.com/sdk: hello in " + mode.name
			if log := rs.logs(t, id, ""); !strings.Contains(log, want) {
				t.Fatalf("the script's log lacks %q:\n%s", want, log)
			}
		})
	}
}
