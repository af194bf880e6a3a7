package core

import (
	"context"
	"time"
)

// Store is the platform's state and queue. Every implementation (SQLite now,
// PostgreSQL later) passes the same conformance suite, internal/store/storetest.
//
// Transactions travel in the context: inside Tx, every per-noun call made
// with the ctx handed to fn joins the transaction; outside, each call stands
// alone (a write is its own transaction). Errors are the typed errors of this
// package: NotFoundError for missing objects, ConflictError for duplicates and
// failed compare-and-set.
type Store interface {
	// Tx runs fn in one write transaction. It returns only after the
	// transaction is durably committed (or fn's error after rolling it back).
	// fn may run on another goroutine and must touch nothing but the store.
	Tx(ctx context.Context, fn func(ctx context.Context) error) error

	Projects() ProjectStore
	Events() EventStore
	Jobs() JobStore
	Secrets() SecretStore
	Sessions() SessionStore
	Logs() LogStore
	Queue() Queue
	Cleanups() CleanupStore
	Settings() SettingStore
	Users() UserStore
	ServiceAccounts() ServiceAccountStore
	RoleAssignments() RoleAssignmentStore

	// Audit keeps who did what through the API (see AuditEntry).
	Audit() AuditStore

	// Deliveries remembers which events each keyed delivery created, so
	// that a repeated delivery creates none (see DeliveryStore).
	Deliveries() DeliveryStore

	// Subscribe returns a channel that receives a value (coalesced, never
	// blocking the writer) after every commit that touched topic, until
	// cancel is called. Topics: TopicEvent(id), TopicWorker(id),
	// TopicJob(eventID, name), TopicLogs(eventID), TopicQueue,
	// TopicQueueOf(kind).
	Subscribe(topic string) (ch <-chan struct{}, cancel func())

	// Ping checks the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Notification topics.
const (
	TopicQueue   = "queue"
	TopicCleanup = "cleanup"
)

// TopicQueueOf is notified when tasks of a kind may have become leasable:
// one was queued or put back. (A task leased, acknowledged or removed is
// not.) The scheduler follows it per kind; TopicQueue covers every change
// of the queue.
func TopicQueueOf(kind TaskKind) string { return "queue:" + string(kind) }

// TopicEvent is notified when an event, its worker or any of its jobs change.
func TopicEvent(eventID string) string { return "event:" + eventID }

// TopicWorker is notified when an event or its worker change (created, its
// worker status, summary or source state written, deleted with it or its
// project), but not when only its jobs do: for those that follow a worker.
func TopicWorker(eventID string) string { return "worker:" + eventID }

// TopicJob is notified when one job changes (created, replaced, its status
// written). Its event's deletion notifies TopicWorker(eventID).
func TopicJob(eventID, name string) string { return "job:" + eventID + "/" + name }

// TopicLogs is notified when log lines are appended for an event.
func TopicLogs(eventID string) string { return "logs:" + eventID }

// ListOptions pages through a list.
type ListOptions struct {
	Limit    int    // 1..100; the API defaults it to 20
	Continue string // opaque cursor from the previous page
}

// ProjectStore keeps projects, ordered by id.
type ProjectStore interface {
	Create(ctx context.Context, p *Project) error // ConflictError if the id is taken
	Get(ctx context.Context, id string) (*Project, error)
	List(ctx context.Context, opts ListOptions) ([]Project, ListMeta, error)
	// All returns every project.
	All(ctx context.Context) ([]Project, error)
	// Matching returns the projects keep accepts, by id, for subscription
	// matching (every event the server takes in). keep is shown each
	// project read-only, perhaps the store's own cached copy: it must
	// neither change it nor hold on to it. Only the kept are copied.
	Matching(ctx context.Context, keep func(*Project) bool) ([]Project, error)
	// Update replaces description and spec.
	Update(ctx context.Context, p *Project) error
	// Delete removes the project and everything that belongs to it: events,
	// jobs, logs, secrets and queued tasks.
	Delete(ctx context.Context, id string) error
}

// EventSelector filters events. Empty fields match everything.
type EventSelector struct {
	ProjectID    string
	Source       string
	Type         string
	Qualifiers   map[string]string
	Labels       map[string]string
	SourceState  map[string]string
	WorkerPhases []WorkerPhase
}

// EventStore keeps events with their worker. Jobs live in JobStore but Get
// and List return events with Worker.Jobs filled in creation order.
type EventStore interface {
	Create(ctx context.Context, e *Event) error
	Get(ctx context.Context, id string) (*Event, error)
	// Head is Get without the jobs (Worker.Jobs is nil): cheap for events
	// with many jobs.
	Head(ctx context.Context, id string) (*Event, error)
	// List orders by created descending, then id ascending.
	List(ctx context.Context, sel EventSelector, opts ListOptions) ([]Event, ListMeta, error)
	// IDs returns the ids of every event the selector matches.
	IDs(ctx context.Context, sel EventSelector) ([]string, error)
	// WorkerStatus is the worker's status alone, and WorkerPhase its phase
	// alone: much cheaper than Head for those that follow a worker.
	WorkerStatus(ctx context.Context, id string) (WorkerStatus, error)
	WorkerPhase(ctx context.Context, id string) (WorkerPhase, error)
	// UpdateWorkerStatus replaces the worker status if the current phase is
	// still `from` (compare-and-set); otherwise ConflictError.
	UpdateWorkerStatus(ctx context.Context, id string, from WorkerPhase, status WorkerStatus) error
	SetSummary(ctx context.Context, id, summary string) error
	SetSourceState(ctx context.Context, id string, state *SourceState) error
	// SetWorkerTokenHash records the hash of the worker's bearer token.
	SetWorkerTokenHash(ctx context.Context, id, hash string) error
	// WorkerTokenEvent finds the id of the event whose worker holds a
	// token: every request of a worker asks, so it reads nothing else.
	WorkerTokenEvent(ctx context.Context, hash string) (string, error)
	// Delete removes the event, its jobs, logs and queued tasks.
	Delete(ctx context.Context, id string) error
}

// JobStore keeps the jobs of events' workers.
type JobStore interface {
	// Create adds a job; ConflictError if the event already has that name.
	Create(ctx context.Context, eventID string, j *Job) error
	// Replace overwrites an existing job of that name (spec, created, status).
	Replace(ctx context.Context, eventID string, j *Job) error
	Get(ctx context.Context, eventID, name string) (*Job, error)
	List(ctx context.Context, eventID string) ([]Job, error)
	// Status is a job's status alone (zero when it has none), and Phase its
	// phase alone: much cheaper than Get for those that follow a job.
	// NotFoundError names the Event or the Job that is missing.
	Status(ctx context.Context, eventID, name string) (JobStatus, error)
	Phase(ctx context.Context, eventID, name string) (JobPhase, error)
	// UpdateStatus is compare-and-set on the job's phase, like
	// EventStore.UpdateWorkerStatus.
	UpdateStatus(ctx context.Context, eventID, name string, from JobPhase, status JobStatus) error
	// SetEnvironment keeps a job's real (sealed) environment beside its
	// redacted spec, until the job starts on a substrate.
	SetEnvironment(ctx context.Context, eventID, name string, sealed []byte) error
	// Environment returns what SetEnvironment stored (nil if nothing).
	Environment(ctx context.Context, eventID, name string) ([]byte, error)
	// CountInPhases counts the jobs of every event in any of the phases.
	CountInPhases(ctx context.Context, phases []JobPhase) (int, error)
}

// SecretStore keeps project secrets. Values arrive and leave sealed: the
// store never sees plaintext.
type SecretStore interface {
	Set(ctx context.Context, projectID, key string, sealed []byte) error
	// Get returns the sealed value, NotFoundError if absent.
	Get(ctx context.Context, projectID, key string) ([]byte, error)
	// List returns keys in ascending order.
	List(ctx context.Context, projectID string, opts ListOptions) ([]string, ListMeta, error)
	// All returns every key and sealed value of a project.
	All(ctx context.Context, projectID string) (map[string][]byte, error)
	// Unset removes a key; an absent key is not an error.
	Unset(ctx context.Context, projectID, key string) error
}

// Session is a login. Only the hash of its token is stored.
type Session struct {
	ID            string
	TokenHash     string
	Root          bool
	UserID        string
	Created       time.Time
	Authenticated *time.Time
	Expires       *time.Time
	// A third-party login under way: the hash of its OAuth2 state, and
	// where the browser goes once it is done.
	AuthStateHash string
	SuccessURL    string
}

// SessionStore keeps sessions.
type SessionStore interface {
	Create(ctx context.Context, s *Session) error
	GetByTokenHash(ctx context.Context, hash string) (*Session, error)
	// PendingByStateHash finds the session of a third-party login under
	// way by the hash of its state (NotFoundError when there is none or it
	// is complete).
	PendingByStateHash(ctx context.Context, hash string) (*Session, error)
	// Authenticate completes the third-party login of the pending session
	// id: it now belongs to userID, from at until expires, and its state
	// can complete nothing again (NotFoundError when no pending session
	// has that id: another callback completed it first).
	Authenticate(ctx context.Context, id, userID string, at, expires time.Time) (*Session, error)
	Delete(ctx context.Context, id string) error
	// DeleteExpired removes sessions that expired before t.
	DeleteExpired(ctx context.Context, t time.Time) (int64, error)
}

// LogStream names one container's log: the worker's (Job empty) or a job's.
type LogStream struct {
	EventID   string
	Job       string // empty for the worker
	Container string // "worker", the job name, a sidecar name, or "vcs"
}

// StoredLogEntry is a log line with its position in its stream (1-based,
// dense, assigned by the store in append order).
type StoredLogEntry struct {
	Seq     int64
	Time    time.Time
	Message string
}

// LogStore keeps every line a container wrote, in order.
type LogStore interface {
	Append(ctx context.Context, s LogStream, entries []LogEntry) error
	// Read returns up to limit entries with Seq > after, in order.
	Read(ctx context.Context, s LogStream, after int64, limit int) ([]StoredLogEntry, error)
	// Close marks a stream complete: followers stop once they have read it all.
	Close(ctx context.Context, s LogStream) error
	// IsClosed reports whether Close was called for the stream.
	IsClosed(ctx context.Context, s LogStream) (bool, error)
}

// TaskKind tells worker tasks from job tasks.
type TaskKind string

// Task kinds.
const (
	TaskWorker TaskKind = "worker"
	TaskJob    TaskKind = "job"
)

// Task is an entry on a project's queue: start this worker or this job.
type Task struct {
	ID        int64
	Kind      TaskKind
	ProjectID string
	EventID   string
	JobName   string // for job tasks
	Attempts  int    // times it was leased before
	Created   time.Time
}

// Queue holds work per project in FIFO order. It lives in the same database
// as the state, so Enqueue joins the caller's transaction.
type Queue interface {
	Enqueue(ctx context.Context, t *Task) error
	// Ready lists the projects that have leasable tasks of a kind, by id.
	Ready(ctx context.Context, kind TaskKind) ([]string, error)
	// Lease takes the oldest leasable task of a kind in a project (any
	// project when projectID is empty) for ttl. It returns (nil, nil) when
	// there is none; it does not block (wait on TopicQueue for that).
	Lease(ctx context.Context, kind TaskKind, projectID string, ttl time.Duration) (*Task, error)
	// Extend pushes a lease's expiry out to now+ttl.
	Extend(ctx context.Context, id int64, ttl time.Duration) error
	// Ack removes a leased task: it is done.
	Ack(ctx context.Context, id int64) error
	// Nack makes a leased task leasable again after delay.
	Nack(ctx context.Context, id int64, delay time.Duration) error
	// Len counts tasks of a kind, leased or not.
	Len(ctx context.Context, kind TaskKind) (int, error)
	// NextDue is the earliest time after `after` at which a task of the
	// kind becomes leasable (a delayed retry, or a lease that expires);
	// ok is false when no task waits for a time. Tasks leasable already
	// are not counted: they wait for capacity, not for the clock.
	NextDue(ctx context.Context, kind TaskKind, after time.Time) (due time.Time, ok bool, err error)
}

// Cleanup says that what an event left on the substrate (workloads,
// folders, containers) is to be removed at Due.
type Cleanup struct {
	EventID string
	Due     time.Time
}

// CleanupStore keeps the cleanups still to do. An entry outlives its event
// (a deleted event's leftovers are removed after the delete), so that no
// crash or restart forgets one. Every change notifies TopicCleanup.
type CleanupStore interface {
	// Schedule records that the event's leftovers are to be removed at due.
	// An entry already there keeps the earlier of the two times.
	Schedule(ctx context.Context, eventID string, due time.Time) error
	// Due lists up to limit cleanups due at or before now, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Cleanup, error)
	// Next is the earliest due time of any entry; ok is false when none.
	Next(ctx context.Context) (due time.Time, ok bool, err error)
	// Done removes the entry if it is still due at c.Due (an entry
	// scheduled anew meanwhile stays).
	Done(ctx context.Context, c Cleanup) error
	// Retry moves the entry, if it is still due at c.Due, to at.
	Retry(ctx context.Context, c Cleanup, at time.Time) error
}

// DeliveryStore remembers the events that a delivery created: a delivery
// is one request to create events that its sender marked with a key (a
// gateway's webhook delivery ID, a CloudEvent's id, a cron firing), unique
// within the event source. Recording happens in the transaction that
// stores the events, so a delivery is either unknown or known with the
// events it created.
type DeliveryStore interface {
	// Lookup returns the ids of the events the delivery created (maybe
	// none) and whether the delivery is known.
	Lookup(ctx context.Context, source, key string) (eventIDs []string, known bool, err error)
	// Record remembers a delivery and the events it created; it is a
	// ConflictError when the delivery is already known.
	Record(ctx context.Context, source, key string, eventIDs []string, at time.Time) error
	// DeleteBefore forgets deliveries recorded before t.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
}

// SettingStore keeps small server-wide values (the root password hash, ...).
type SettingStore interface {
	Get(ctx context.Context, key string) (string, bool, error)
	Set(ctx context.Context, key, value string) error
	// SetIfAbsent stores value unless the key exists; it reports whether it
	// stored it.
	SetIfAbsent(ctx context.Context, key, value string) (bool, error)
	// SetEndingRootSessions stores value like Set and, in the same
	// transaction, deletes every root session, reporting how many: for a
	// root credential whose change must log root out everywhere.
	SetEndingRootSessions(ctx context.Context, key, value string) (int64, error)
}
