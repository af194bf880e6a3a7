package postgres

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brigadeplatform/brigade/internal/store/notify"
)

// listener is the process's one connection that LISTENs on the store's
// channel and publishes what arrives to the hub. When the connection
// breaks it reconnects (backing off up to a few seconds) and then wakes
// every subscriber: commits made while it was away sent notifications it
// never got, and each follower re-reads what it follows.
type listener struct {
	cfg     *pgx.ConnConfig
	channel string
	hub     *notify.Hub
	own     *pidSet
	log     *slog.Logger

	conn *pgx.Conn     // owned by run once it starts
	done chan struct{} // closed when run returns

	curPID atomic.Uint32 // the connection's backend pid
}

func newListener(cfg *pgx.ConnConfig, channel string, hub *notify.Hub, own *pidSet, log *slog.Logger) *listener {
	return &listener{cfg: cfg.Copy(), channel: channel, hub: hub, own: own, log: log, done: make(chan struct{})}
}

// connect opens the connection and starts listening; Open calls it before
// returning, so no commit made after Open goes unheard.
func (l *listener) connect(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return err
	}
	l.conn = conn
	l.curPID.Store(conn.PgConn().PID())
	return nil
}

// run delivers notifications until ctx ends.
func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	defer func() {
		if l.conn != nil {
			_ = l.conn.Close(context.Background())
		}
	}()
	backoff := 50 * time.Millisecond
	for {
		if l.conn == nil {
			if err := l.connect(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				l.log.Warn("cannot listen for PostgreSQL notifications; retrying", "retry_in", backoff, "error", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			l.log.Info("listening for PostgreSQL notifications again")
			backoff = 50 * time.Millisecond
			l.hub.PublishAll()
		}
		n, err := l.conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.log.Warn("lost the PostgreSQL notification connection; reconnecting", "error", err)
			_ = l.conn.Close(context.Background())
			l.conn = nil
			continue
		}
		if !l.own.has(n.PID) {
			l.deliver(n.Payload)
		}
	}
}

// deliver publishes the topics of one notification.
func (l *listener) deliver(payload string) {
	if payload == wakeAll {
		l.hub.PublishAll()
		return
	}
	topics := strings.Split(payload, "\n")
	for _, t := range topics {
		if t == wakeAll {
			l.hub.PublishAll()
			return
		}
	}
	l.hub.Publish(topics...)
}

// pid is the backend pid of the listening connection (0 when there is
// none), for tests.
func (l *listener) pid() uint32 { return l.curPID.Load() }

// wait returns once run has returned.
func (l *listener) wait() { <-l.done }

// pidSet holds the backend process ids of the pool's connections: a
// notification from one of them is an echo of this process's own commit,
// which Tx published already (publishing it again, late, would wake a
// follower that subscribed after the commit with news it already has).
type pidSet struct {
	mu   sync.Mutex
	pids map[uint32]struct{}
}

func newPIDSet() *pidSet { return &pidSet{pids: make(map[uint32]struct{})} }

func (p *pidSet) add(pid uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pids[pid] = struct{}{}
}

func (p *pidSet) remove(pid uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pids, pid)
}

func (p *pidSet) has(pid uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.pids[pid]
	return ok
}
