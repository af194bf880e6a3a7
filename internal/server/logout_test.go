package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestLogoutWithoutASession: DELETE /v2/session with a token that is not a
// session's is the client's mistake (400 saying so), not a server error.
func TestLogoutWithoutASession(t *testing.T) {
	ts := newTestServer(t)
	ts.createProject("proj", core.EventSubscription{Source: "brigade.sh/cli", Types: []string{"exec"}})
	ev := ts.createEvents(eventBody("brigade.sh/cli", "exec", map[string]any{"projectID": "proj"}))[0]
	sa := ts.expect(http.StatusCreated, "POST", "/v2/service-accounts", ts.root, saBody("robot")).json(t)
	tokens := map[string]string{
		"scheduler": schedulerToken, "observer": observerToken,
		"worker": ts.startWorker(ev.Metadata.ID), "service account": sa["value"].(string),
	}
	for who, tok := range tokens {
		m := ts.expectError(http.StatusBadRequest, "BadRequestError", "DELETE", "/v2/session", tok, nil)
		if reason, _ := m["reason"].(string); !strings.Contains(reason, "not a session token") {
			t.Errorf("%s: reason %q does not say the token is not a session's", who, reason)
		}
		// The token still authenticates: nothing was logged out.
		if r := ts.do("GET", "/v2/events/"+ev.Metadata.ID, tok, nil); r.Status == http.StatusUnauthorized {
			t.Errorf("%s: the token no longer authenticates: %s", who, r.Body)
		}
	}
	// A session still logs out.
	ts.expect(http.StatusOK, "DELETE", "/v2/session", ts.login(), nil)
	if logs := ts.errLogs.String(); logs != "" {
		t.Fatalf("refused logouts logged errors:\n%s", logs)
	}
}
