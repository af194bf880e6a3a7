package faultstore

import (
	"context"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// get runs f unless a fault on op says otherwise.
func get[T any](ctx context.Context, s *Store, op string, f func() (T, error)) (T, error) {
	if err := s.check(ctx, op); err != nil {
		var zero T
		return zero, err
	}
	return f()
}

// do is get for calls that return only an error.
func do(ctx context.Context, s *Store, op string, f func() error) error {
	if err := s.check(ctx, op); err != nil {
		return err
	}
	return f()
}

type events struct {
	core.EventStore
	s *Store
}

func (e events) Create(ctx context.Context, ev *core.Event) error {
	return do(ctx, e.s, "Events.Create", func() error { return e.EventStore.Create(ctx, ev) })
}

func (e events) Get(ctx context.Context, id string) (*core.Event, error) {
	return get(ctx, e.s, "Events.Get", func() (*core.Event, error) { return e.EventStore.Get(ctx, id) })
}

func (e events) Head(ctx context.Context, id string) (*core.Event, error) {
	return get(ctx, e.s, "Events.Head", func() (*core.Event, error) { return e.EventStore.Head(ctx, id) })
}

func (e events) List(ctx context.Context, sel core.EventSelector, opts core.ListOptions) ([]core.Event, core.ListMeta, error) {
	if err := e.s.check(ctx, "Events.List"); err != nil {
		return nil, core.ListMeta{}, err
	}
	return e.EventStore.List(ctx, sel, opts)
}

func (e events) IDs(ctx context.Context, sel core.EventSelector) ([]string, error) {
	return get(ctx, e.s, "Events.IDs", func() ([]string, error) { return e.EventStore.IDs(ctx, sel) })
}

func (e events) WorkerStatus(ctx context.Context, id string) (core.WorkerStatus, error) {
	return get(ctx, e.s, "Events.WorkerStatus", func() (core.WorkerStatus, error) { return e.EventStore.WorkerStatus(ctx, id) })
}

func (e events) WorkerPhase(ctx context.Context, id string) (core.WorkerPhase, error) {
	return get(ctx, e.s, "Events.WorkerPhase", func() (core.WorkerPhase, error) { return e.EventStore.WorkerPhase(ctx, id) })
}

func (e events) UpdateWorkerStatus(ctx context.Context, id string, from core.WorkerPhase, st core.WorkerStatus) error {
	return do(ctx, e.s, "Events.UpdateWorkerStatus", func() error { return e.EventStore.UpdateWorkerStatus(ctx, id, from, st) })
}

func (e events) SetSummary(ctx context.Context, id, summary string) error {
	return do(ctx, e.s, "Events.SetSummary", func() error { return e.EventStore.SetSummary(ctx, id, summary) })
}

func (e events) SetSourceState(ctx context.Context, id string, state *core.SourceState) error {
	return do(ctx, e.s, "Events.SetSourceState", func() error { return e.EventStore.SetSourceState(ctx, id, state) })
}

func (e events) SetWorkerTokenHash(ctx context.Context, id, hash string) error {
	return do(ctx, e.s, "Events.SetWorkerTokenHash", func() error { return e.EventStore.SetWorkerTokenHash(ctx, id, hash) })
}

func (e events) WorkerTokenEvent(ctx context.Context, hash string) (string, error) {
	return get(ctx, e.s, "Events.WorkerTokenEvent", func() (string, error) { return e.EventStore.WorkerTokenEvent(ctx, hash) })
}

func (e events) Delete(ctx context.Context, id string) error {
	return do(ctx, e.s, "Events.Delete", func() error { return e.EventStore.Delete(ctx, id) })
}

type jobs struct {
	core.JobStore
	s *Store
}

func (j jobs) Create(ctx context.Context, eventID string, job *core.Job) error {
	return do(ctx, j.s, "Jobs.Create", func() error { return j.JobStore.Create(ctx, eventID, job) })
}

func (j jobs) Replace(ctx context.Context, eventID string, job *core.Job) error {
	return do(ctx, j.s, "Jobs.Replace", func() error { return j.JobStore.Replace(ctx, eventID, job) })
}

func (j jobs) Get(ctx context.Context, eventID, name string) (*core.Job, error) {
	return get(ctx, j.s, "Jobs.Get", func() (*core.Job, error) { return j.JobStore.Get(ctx, eventID, name) })
}

func (j jobs) List(ctx context.Context, eventID string) ([]core.Job, error) {
	return get(ctx, j.s, "Jobs.List", func() ([]core.Job, error) { return j.JobStore.List(ctx, eventID) })
}

func (j jobs) Status(ctx context.Context, eventID, name string) (core.JobStatus, error) {
	return get(ctx, j.s, "Jobs.Status", func() (core.JobStatus, error) { return j.JobStore.Status(ctx, eventID, name) })
}

func (j jobs) Phase(ctx context.Context, eventID, name string) (core.JobPhase, error) {
	return get(ctx, j.s, "Jobs.Phase", func() (core.JobPhase, error) { return j.JobStore.Phase(ctx, eventID, name) })
}

func (j jobs) UpdateStatus(ctx context.Context, eventID, name string, from core.JobPhase, st core.JobStatus) error {
	return do(ctx, j.s, "Jobs.UpdateStatus", func() error { return j.JobStore.UpdateStatus(ctx, eventID, name, from, st) })
}

func (j jobs) SetEnvironment(ctx context.Context, eventID, name string, sealed []byte) error {
	return do(ctx, j.s, "Jobs.SetEnvironment", func() error { return j.JobStore.SetEnvironment(ctx, eventID, name, sealed) })
}

func (j jobs) Environment(ctx context.Context, eventID, name string) ([]byte, error) {
	return get(ctx, j.s, "Jobs.Environment", func() ([]byte, error) { return j.JobStore.Environment(ctx, eventID, name) })
}

func (j jobs) CountInPhases(ctx context.Context, phases []core.JobPhase) (int, error) {
	return get(ctx, j.s, "Jobs.CountInPhases", func() (int, error) { return j.JobStore.CountInPhases(ctx, phases) })
}

type logs struct {
	core.LogStore
	s *Store
}

func (l logs) Append(ctx context.Context, st core.LogStream, entries []core.LogEntry) error {
	return do(ctx, l.s, "Logs.Append", func() error { return l.LogStore.Append(ctx, st, entries) })
}

func (l logs) Read(ctx context.Context, st core.LogStream, after int64, limit int) ([]core.StoredLogEntry, error) {
	return get(ctx, l.s, "Logs.Read", func() ([]core.StoredLogEntry, error) { return l.LogStore.Read(ctx, st, after, limit) })
}

func (l logs) Close(ctx context.Context, st core.LogStream) error {
	return do(ctx, l.s, "Logs.Close", func() error { return l.LogStore.Close(ctx, st) })
}

func (l logs) IsClosed(ctx context.Context, st core.LogStream) (bool, error) {
	return get(ctx, l.s, "Logs.IsClosed", func() (bool, error) { return l.LogStore.IsClosed(ctx, st) })
}

type queue struct {
	core.Queue
	s *Store
}

func (q queue) Enqueue(ctx context.Context, t *core.Task) error {
	return do(ctx, q.s, "Queue.Enqueue", func() error { return q.Queue.Enqueue(ctx, t) })
}

func (q queue) Ready(ctx context.Context, kind core.TaskKind) ([]string, error) {
	return get(ctx, q.s, "Queue.Ready", func() ([]string, error) { return q.Queue.Ready(ctx, kind) })
}

func (q queue) Lease(ctx context.Context, kind core.TaskKind, projectID string, ttl time.Duration) (*core.Task, error) {
	return get(ctx, q.s, "Queue.Lease", func() (*core.Task, error) { return q.Queue.Lease(ctx, kind, projectID, ttl) })
}

func (q queue) Extend(ctx context.Context, id int64, ttl time.Duration) error {
	return do(ctx, q.s, "Queue.Extend", func() error { return q.Queue.Extend(ctx, id, ttl) })
}

func (q queue) Ack(ctx context.Context, id int64) error {
	return do(ctx, q.s, "Queue.Ack", func() error { return q.Queue.Ack(ctx, id) })
}

func (q queue) Nack(ctx context.Context, id int64, delay time.Duration) error {
	return do(ctx, q.s, "Queue.Nack", func() error { return q.Queue.Nack(ctx, id, delay) })
}

func (q queue) Len(ctx context.Context, kind core.TaskKind) (int, error) {
	return get(ctx, q.s, "Queue.Len", func() (int, error) { return q.Queue.Len(ctx, kind) })
}

func (q queue) NextDue(ctx context.Context, kind core.TaskKind, after time.Time) (time.Time, bool, error) {
	if err := q.s.check(ctx, "Queue.NextDue"); err != nil {
		return time.Time{}, false, err
	}
	return q.Queue.NextDue(ctx, kind, after)
}

type cleanups struct {
	core.CleanupStore
	s *Store
}

func (c cleanups) Schedule(ctx context.Context, eventID string, due time.Time) error {
	return do(ctx, c.s, "Cleanups.Schedule", func() error { return c.CleanupStore.Schedule(ctx, eventID, due) })
}

func (c cleanups) Due(ctx context.Context, now time.Time, limit int) ([]core.Cleanup, error) {
	return get(ctx, c.s, "Cleanups.Due", func() ([]core.Cleanup, error) { return c.CleanupStore.Due(ctx, now, limit) })
}

func (c cleanups) Next(ctx context.Context) (time.Time, bool, error) {
	if err := c.s.check(ctx, "Cleanups.Next"); err != nil {
		return time.Time{}, false, err
	}
	return c.CleanupStore.Next(ctx)
}

func (c cleanups) Done(ctx context.Context, cl core.Cleanup) error {
	return do(ctx, c.s, "Cleanups.Done", func() error { return c.CleanupStore.Done(ctx, cl) })
}

func (c cleanups) Retry(ctx context.Context, cl core.Cleanup, at time.Time) error {
	return do(ctx, c.s, "Cleanups.Retry", func() error { return c.CleanupStore.Retry(ctx, cl, at) })
}
