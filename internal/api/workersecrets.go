package api

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// WorkerSecrets returns the project's secrets to the event's own worker,
// which fetches them at start instead of reading them from its event.json
// (an addition to Brigade's API, docs/api.md): no secret is written to the
// worker's disk, and a token left behind by a crashed worker opens nothing
// once its worker has ended.
func (s *Service) WorkerSecrets(ctx context.Context, eventID string) (map[string]string, error) {
	if _, err := require(ctx, auth.RoleWorker, eventID); err != nil {
		return nil, err
	}
	ev, err := s.store.Events().Head(ctx, eventID)
	if err != nil {
		return nil, err
	}
	if ph := ev.Worker.Status.Phase; ph != core.PhaseStarting && ph != core.PhaseRunning {
		return nil, core.NewConflict("Event", eventID, fmt.Sprintf(
			"Event %q worker is %s: only a starting or running worker may read its project's secrets.", eventID, ph))
	}
	return s.projectSecrets(ctx, ev.ProjectID)
}
