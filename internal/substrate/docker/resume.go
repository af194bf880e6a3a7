package docker

import (
	"context"
	"fmt"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// resumePage is how many stored entries StoreResume reads at a time.
const resumePage = 5000

// StoreResume returns an Options.Resume that reads a stream from the log
// store: it counts the container's own lines (every entry but the notes
// that start with "[brigade] ", which the substrate and the runner
// write) and remembers the time of the last one. It reads the whole stream,
// once per re-attached container after a restart.
func StoreResume(logs core.LogStore) func(context.Context, core.LogStream) (LogPosition, error) {
	return func(ctx context.Context, s core.LogStream) (LogPosition, error) {
		var pos LogPosition
		var after int64
		for {
			page, err := logs.Read(ctx, s, after, resumePage)
			if err != nil {
				return LogPosition{}, fmt.Errorf("reading %s from the log store: %w", fmtStream(s), err)
			}
			for _, e := range page {
				if !strings.HasPrefix(e.Message, notePrefix) {
					pos.Lines++
					pos.Last = e.Time
				}
				after = e.Seq
			}
			if len(page) < resumePage {
				return pos, nil
			}
		}
	}
}
