package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/brigadeplatform/brigade/internal/core"
)

// notePrefix starts every line the substrate writes into a log itself.
const notePrefix = "[brigade] "

// Options configures the kubernetes substrate.
type Options struct {
	// Config reaches the cluster (in-cluster config or a kubeconfig's).
	Config *rest.Config
	// Pods shape the objects the substrate creates.
	Pods PodOptions
	// Sink receives every line workers and jobs write.
	Sink core.LogSink
	// Workers runs workers as host processes (a local substrate): a laptop
	// or CI server that bursts its jobs onto a cluster, and the tests,
	// whose kwok nodes run no processes. Nil runs every worker as a pod.
	Workers core.Substrate
	// Logger gets the substrate's own diagnostics (default: discard).
	Logger *slog.Logger
	// SidecarGrace is how long a job's sidecars may run on after its
	// primary container ended; then its pod is deleted with the same
	// grace (SIGTERM, SIGKILL after it). Default DefaultSidecarGrace.
	SidecarGrace time.Duration
}

// DefaultSidecarGrace is how long sidecars may outlive their primary, as on
// the docker substrate.
const DefaultSidecarGrace = 2 * time.Second

// Substrate runs jobs, and workers unless Options.Workers takes them, as
// pods. It implements core.Substrate.
type Substrate struct {
	opts    Options
	log     *slog.Logger
	cs      *coreClient
	workers core.Substrate

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	pods    corelisters.PodLister
	synced  cache.InformerSynced
	ownSel  labels.Selector
	mu      sync.Mutex
	loads   map[core.WorkloadRef]*workload
	nsReady map[string]bool // namespaces known to exist
	news    chan struct{}   // closed (and replaced) at each change of a pod
}

var _ core.Substrate = (*Substrate)(nil)

// New prepares the substrate and starts watching its pods. It does not
// wait for the cluster: Check does.
func New(opts Options) (*Substrate, error) {
	if opts.Config == nil {
		return nil, errors.New("kubernetes substrate: no cluster configuration: run in a cluster or pass --kubeconfig")
	}
	if opts.Sink == nil {
		return nil, errors.New("kubernetes substrate: no log sink: set Options.Sink (the log store)")
	}
	if opts.SidecarGrace <= 0 {
		opts.SidecarGrace = DefaultSidecarGrace
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rc := rest.CopyConfig(opts.Config)
	if rc.QPS == 0 {
		// client-go's default (5 a second) throttles a burst of jobs'
		// log followers; the apiserver's own priority and fairness is the
		// limit that counts.
		rc.QPS, rc.Burst = 50, 100
	}
	cs, err := newCoreClient(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes substrate: building a client for %s: %w", opts.Config.Host, err)
	}
	own := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy, LabelOwner: opts.Pods.owner()})
	ctx, cancel := context.WithCancel(context.Background())
	s := &Substrate{
		opts: opts, log: opts.Logger, cs: cs, workers: opts.Workers,
		ctx: ctx, cancel: cancel, ownSel: own,
		loads: map[core.WorkloadRef]*workload{}, nsReady: map[string]bool{},
		news: make(chan struct{}),
	}
	// One informer on our pods in every namespace: the status of every
	// workload comes from it, never from polling.
	sel := own.String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			list := &corev1.PodList{}
			if err := cs.list(ctx, "", resPods, o, list); err != nil {
				return nil, err
			}
			return list, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return cs.watch(ctx, "", resPods, o)
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, cs), &corev1.Pod{},
		cache.SharedIndexInformerOptions{Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.podChanged,
		UpdateFunc: func(_, obj any) { s.podChanged(obj) },
		DeleteFunc: s.podChanged,
	}); err != nil {
		cancel()
		return nil, fmt.Errorf("kubernetes substrate: watching pods: %w", err)
	}
	s.pods = corelisters.NewPodLister(inf.GetIndexer())
	s.synced = inf.HasSynced
	go inf.RunWithContext(ctx)
	return s, nil
}

// Name implements core.Substrate.
func (s *Substrate) Name() string { return "kubernetes" }

// Check reports whether the cluster answers and the substrate's pods are
// being watched.
func (s *Substrate) Check(ctx context.Context) error {
	if _, err := s.cs.serverVersion(ctx); err != nil {
		return fmt.Errorf("kubernetes substrate: the API server at %s does not answer: %w "+
			"(check --kubeconfig, or that the server runs in the cluster with its service account)", s.opts.Config.Host, err)
	}
	if !cache.WaitForCacheSync(ctx.Done(), s.synced) {
		return fmt.Errorf("kubernetes substrate: cannot list pods at %s: grant the server's account "+
			"get, list and watch on pods in every namespace (the chart's RBAC does)", s.opts.Config.Host)
	}
	if s.workers != nil {
		return s.workers.Check(ctx)
	}
	return nil
}

// synced waits for the informer's first list, so that a pod created
// before now is known.
func (s *Substrate) waitSynced(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), s.synced) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return errors.New("kubernetes substrate: the pod watch never synced")
	}
	return nil
}

// podChanged wakes the workload a pod belongs to.
func (s *Substrate) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ref, ok := refOf(pod.Labels)
	s.mu.Lock()
	close(s.news)
	s.news = make(chan struct{})
	w := s.loads[ref]
	s.mu.Unlock()
	if !ok {
		return
	}
	if w != nil {
		w.wake()
	}
}

// podNews returns a channel that is closed at the next change of a pod.
func (s *Substrate) podNews() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.news
}

// refOf is the workload a pod's labels name.
func refOf(l map[string]string) (core.WorkloadRef, bool) {
	ref := core.WorkloadRef{EventID: l[LabelEvent]}
	switch l[LabelRole] {
	case RoleWorker:
	case RoleJob:
		ref.Job = l[LabelJob]
		if ref.Job == "" {
			return ref, false
		}
	default:
		return ref, false
	}
	return ref, ref.EventID != ""
}

// Close stops following workloads without stopping them (a restarted
// server re-attaches to their pods), and closes Options.Workers.
func (s *Substrate) Close() error {
	s.cancel()
	s.wg.Wait()
	return closeWorkers(s.workers)
}

// now is the time the substrate stamps on starts and ends.
func now() time.Time { return time.Now().UTC() }
