package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLeadershipLost is returned by Lead when the connection that holds the
// lock broke while fn ran: another replica may lead by now, so the caller
// stops what it led (a supervisor restarts the process as a standby).
var ErrLeadershipLost = errors.New("lost the PostgreSQL connection that held the leader lock: another replica may lead now")

// leadPoll is how often a standby tries the lock and a leader checks its
// connection: a standby takes over within about this long after the
// leader's connection ends (PostgreSQL releases a session's advisory locks
// at once when its process dies and the socket closes).
const leadPoll = time.Second

// Leadership reports whether this process leads, for health checks.
type Leadership struct{ leading atomic.Bool }

// Leading reports whether the process holds the lock now.
func (l *Leadership) Leading() bool { return l != nil && l.leading.Load() }

// Lead runs fn while this process holds the session-level advisory lock
// named name, on a connection of its own: it waits (trying every second)
// until no other process holds it, runs fn, and checks every second that
// the connection, and so the lock, is still there. It returns fn's result
// once fn returns (releasing the lock), ctx's error if ctx ends while it
// waits, or ErrLeadershipLost (after cancelling fn's ctx and waiting for
// fn) if the connection breaks. l, if not nil, reports the state.
func (s *Store) Lead(ctx context.Context, name string, l *Leadership, fn func(ctx context.Context) error) error {
	if l == nil {
		l = &Leadership{}
	}
	var conn *pgx.Conn
	defer func() {
		l.leading.Store(false)
		if conn != nil {
			_ = conn.Close(context.Background()) // ends the session: the lock goes with it
		}
	}()
	const try = `SELECT pg_try_advisory_lock(hashtextextended('brigade-lead:' || current_schema() || ':' || $1, 0))`
	t := time.NewTicker(leadPoll)
	defer t.Stop()
	waiting := false
	for {
		if conn == nil {
			c, err := pgx.ConnectConfig(ctx, s.listener.cfg)
			if err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				s.log.Warn("cannot connect to try the leader lock; retrying", "lock", name, "error", err)
			} else {
				conn = c
			}
		}
		if conn != nil {
			var got bool
			if err := conn.QueryRow(ctx, try, name).Scan(&got); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.log.Warn("cannot try the leader lock; reconnecting", "lock", name, "error", err)
				_ = conn.Close(context.Background())
				conn = nil
			} else if got {
				break
			}
			if !waiting {
				s.log.Info("standing by: another replica holds the leader lock", "lock", name)
				waiting = true
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	s.log.Info("took the leader lock: leading", "lock", name)
	l.leading.Store(true)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(fctx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-t.C:
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				l.leading.Store(false)
				s.log.Error("lost the connection that holds the leader lock: stopping", "lock", name, "error", err)
				cancel()
				<-done
				return fmt.Errorf("%w (%v)", ErrLeadershipLost, err)
			}
		}
	}
}
