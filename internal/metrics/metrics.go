// Package metrics owns the server's Prometheus registry and every
// collector in it (docs/metrics.md). One *Metrics is made per server and
// handed to the parts that report to it (the API service, the runner, the
// store, the log sink) through the small interfaces those packages
// declare; nothing registers with client_golang's default registry.
//
// Every method is safe for concurrent use and cheap: counters and
// histograms are atomic updates, their label children made once in New
// where the labels are known in advance.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Namespace prefixes every brigade metric.
const Namespace = "brigade"

// Kinds of work, the "kind" label of the per-kind metrics.
const (
	KindWorker = "worker"
	KindJob    = "job"
)

// Critical-path latencies run from milliseconds (a standby worker picks an
// event up) to minutes (a queue that waits for capacity).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Store commits take from microseconds (no sync) to the disk's sync time,
// more under contention.
var commitBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// Metrics is the registry and the collectors of one server.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	eventsAccepted *prometheus.CounterVec
	phases         *prometheus.CounterVec
	phaseCounters  map[string]map[core.WorkerPhase]prometheus.Counter
	leases         map[string]prometheus.Counter
	startFailures  map[string]prometheus.Counter
	workerStart    prometheus.Histogram
	jobStart       prometheus.Histogram
	logLines       prometheus.Counter
	txSeconds      prometheus.Histogram
	commitSeconds  prometheus.Histogram
	batchSize      prometheus.Histogram
	leader         prometheus.Gauge
}

// New makes a registry with the Go runtime and process collectors (memory,
// goroutines, open files) and every brigade metric at zero.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg, log: log}
	f := factory{reg}
	m.eventsAccepted = f.counterVec("events_accepted_total",
		"Events stored (one per subscribed project) by event source.", "source")
	m.phases = f.counterVec("phases_reached_total",
		"Workers (kind=worker) and jobs (kind=job) that reached a phase.", "kind", "phase")
	m.phaseCounters = map[string]map[core.WorkerPhase]prometheus.Counter{}
	for _, kind := range []string{KindWorker, KindJob} {
		m.phaseCounters[kind] = map[core.WorkerPhase]prometheus.Counter{}
		for _, p := range core.AllPhases {
			m.phaseCounters[kind][p] = m.phases.WithLabelValues(kind, string(p))
		}
	}
	leases := f.counterVec("queue_leases_total", "Tasks leased from the queue to be started, by kind.", "kind")
	failures := f.counterVec("start_failures_total",
		"Starts that failed and were put back on the queue or given up, by kind.", "kind")
	m.leases = map[string]prometheus.Counter{}
	m.startFailures = map[string]prometheus.Counter{}
	for _, kind := range []string{KindWorker, KindJob} {
		m.leases[kind] = leases.WithLabelValues(kind)
		m.startFailures[kind] = failures.WithLabelValues(kind)
	}
	m.workerStart = f.histogram("worker_start_seconds",
		"Event accepted → its worker RUNNING (the critical path's first half); its count is the workers started.", latencyBuckets)
	m.jobStart = f.histogram("job_start_seconds",
		"Job created → job RUNNING; its count is the jobs started.", latencyBuckets)
	m.logLines = f.counter("log_lines_stored_total", "Log lines of workers and jobs stored.")
	m.txSeconds = f.histogram("store_tx_seconds",
		"A store transaction, from the call to its commit (waiting for the writer included).", commitBuckets)
	m.commitSeconds = f.histogram("store_commit_seconds",
		"One group commit of the store: BEGIN to COMMIT of a batch of transactions.", commitBuckets)
	m.batchSize = f.histogram("store_commit_transactions",
		"Transactions that shared one group commit.", []float64{1, 2, 4, 8, 16, 32, 64, 128, 256})
	m.leader = f.gauge("leader",
		"1 while this process runs the scheduler and observer (always, for a single server), else 0.")
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry, for tests and for parts that add collectors of
// their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format. A collector
// that fails (the store did not answer) leaves its metrics out and is
// logged; the rest is served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            errorLog{m.log},
		Timeout:             30 * time.Second,
		MaxRequestsInFlight: 4,
	})
}

// SetLeader says whether this process leads (runs the scheduler and
// observer). A single server always does.
func (m *Metrics) SetLeader(leads bool) {
	if leads {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// EventsAccepted counts n events of a source stored (api.Metrics). The
// source is always one a project subscribes to, which bounds the label's
// values.
func (m *Metrics) EventsAccepted(source string, n int) {
	m.eventsAccepted.WithLabelValues(source).Add(float64(n))
}

// WorkerPhase counts a worker that reached phase (api.Metrics).
func (m *Metrics) WorkerPhase(phase core.WorkerPhase) { m.phase(KindWorker, phase) }

// JobPhase counts a job that reached phase (api.Metrics).
func (m *Metrics) JobPhase(phase core.JobPhase) { m.phase(KindJob, phase) }

func (m *Metrics) phase(kind string, phase core.WorkerPhase) {
	if c, ok := m.phaseCounters[kind][phase]; ok {
		c.Inc()
		return
	}
	m.phases.WithLabelValues(kind, string(phase)).Inc()
}

// Leased counts n tasks of a kind leased from the queue (runner.Metrics).
func (m *Metrics) Leased(kind core.TaskKind, n int) { m.leases[kindOf(kind)].Add(float64(n)) }

// Started records a worker or job that reported RUNNING, wait after its
// task was queued: the event's acceptance for a worker, the job's creation
// for a job (runner.Metrics).
func (m *Metrics) Started(kind core.TaskKind, wait time.Duration) {
	if kindOf(kind) == KindJob {
		m.jobStart.Observe(wait.Seconds())
	} else {
		m.workerStart.Observe(wait.Seconds())
	}
}

// StartFailed counts a start that failed (runner.Metrics).
func (m *Metrics) StartFailed(kind core.TaskKind) { m.startFailures[kindOf(kind)].Inc() }

// LogLinesStored counts n log lines stored.
func (m *Metrics) LogLinesStored(n int) { m.logLines.Add(float64(n)) }

// TxCommitted records a store transaction that committed, d after it was
// asked for (sqlite.Observer).
func (m *Metrics) TxCommitted(d time.Duration) { m.txSeconds.Observe(d.Seconds()) }

// BatchCommitted records one group commit of txs transactions that took d
// (sqlite.Observer).
func (m *Metrics) BatchCommitted(d time.Duration, txs int) {
	m.commitSeconds.Observe(d.Seconds())
	m.batchSize.Observe(float64(txs))
}

func kindOf(k core.TaskKind) string {
	if k == core.TaskJob {
		return KindJob
	}
	return KindWorker
}

// QueueLen is what the queue depth collector reads (core.Queue has it).
type QueueLen interface {
	Len(ctx context.Context, kind core.TaskKind) (int, error)
}

// WatchQueue adds brigade_queue_depth{kind}, read from q at each scrape.
func (m *Metrics) WatchQueue(q QueueLen) {
	m.reg.MustRegister(&queueCollector{q: q, desc: prometheus.NewDesc(Namespace+"_queue_depth",
		"Tasks on the queue by kind, leased or not: events waiting for a worker (worker) and jobs waiting to start (job).",
		[]string{"kind"}, nil)})
}

type queueCollector struct {
	q    QueueLen
	desc *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, kind := range []core.TaskKind{core.TaskWorker, core.TaskJob} {
		n, err := c.q.Len(ctx, kind)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.desc, err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), kindOf(kind))
	}
}

// factory makes and registers brigade_ metrics.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

// errorLog gives promhttp's errors to slog.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Println(v ...any) { e.log.Warn("serving /metrics", "error", v) }
