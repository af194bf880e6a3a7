package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// The substrate talks to the API server through coreClient, a REST client
// for the core/v1 group alone, rather than client-go's typed clientset:
// the clientset and its informer factory register every built-in API
// group (some 56) when the package is initialised, in every process of
// the brigade binary whether or not it uses this substrate, which cost
// about 20 MB of resident memory and milliseconds of start-up. The
// requests below are the ones the typed client makes for the same calls.

// Resources of core/v1 the substrate uses.
const (
	resPods       = "pods"
	resSecrets    = "secrets"
	resClaims     = "persistentvolumeclaims"
	resNamespaces = "namespaces"
)

// coreClient makes core/v1 requests: the pods, pod logs, namespaces,
// Secrets and claims the substrate creates, reads and deletes.
type coreClient struct {
	rest   *rest.RESTClient
	params runtime.ParameterCodec
}

// newCoreClient builds a client for core/v1 on a scheme holding only
// core/v1 and the meta/v1 types (options, Status, watch events) that
// corev1.AddToScheme registers with it.
func newCoreClient(cfg *rest.Config) (*coreClient, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering core/v1 types: %w", err)
	}
	c := rest.CopyConfig(cfg)
	gv := corev1.SchemeGroupVersion
	c.GroupVersion = &gv
	c.APIPath = "/api"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, err
	}
	return &coreClient{rest: rc, params: runtime.NewParameterCodec(scheme)}, nil
}

// on starts a request on resource in namespace ns ("" for every namespace,
// or for namespaces themselves). Like the typed client, it sends and asks
// for protobuf unless the configuration names a content type.
func (c *coreClient) on(r *rest.Request, ns, resource string) *rest.Request {
	return r.UseProtobufAsDefault().NamespaceIfScoped(ns, ns != "").Resource(resource)
}

// create creates obj (a *corev1.Pod, Secret, claim or Namespace).
func (c *coreClient) create(ctx context.Context, ns, resource string, obj runtime.Object) error {
	return c.on(c.rest.Post(), ns, resource).
		VersionedParams(&metav1.CreateOptions{}, c.params).
		Body(obj).Do(ctx).Error()
}

// update replaces the object called name with obj.
func (c *coreClient) update(ctx context.Context, ns, resource, name string, obj runtime.Object) error {
	return c.on(c.rest.Put(), ns, resource).Name(name).
		VersionedParams(&metav1.UpdateOptions{}, c.params).
		Body(obj).Do(ctx).Error()
}

// get reads the object called name into into.
func (c *coreClient) get(ctx context.Context, ns, resource, name string, into runtime.Object) error {
	return c.on(c.rest.Get(), ns, resource).Name(name).
		VersionedParams(&metav1.GetOptions{}, c.params).
		Do(ctx).Into(into)
}

// list reads the objects opts selects into into (a *corev1.PodList, …).
func (c *coreClient) list(ctx context.Context, ns, resource string, opts metav1.ListOptions, into runtime.Object) error {
	return c.on(c.rest.Get(), ns, resource).
		VersionedParams(&opts, c.params).
		Timeout(timeoutOf(opts)).
		Do(ctx).Into(into)
}

// watch follows the objects opts selects.
func (c *coreClient) watch(ctx context.Context, ns, resource string, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return c.on(c.rest.Get(), ns, resource).
		VersionedParams(&opts, c.params).
		Timeout(timeoutOf(opts)).
		Watch(ctx)
}

// timeoutOf is the client-side timeout of a list or watch: its
// TimeoutSeconds (the informer's watches end every few minutes), or none.
func timeoutOf(opts metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*opts.TimeoutSeconds) * time.Second
}

// delete deletes the object called name.
func (c *coreClient) delete(ctx context.Context, ns, resource, name string, opts metav1.DeleteOptions) error {
	return c.on(c.rest.Delete(), ns, resource).Name(name).
		Body(&opts).Do(ctx).Error()
}

// logs streams a container's log.
func (c *coreClient) logs(ctx context.Context, ns, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return c.rest.Get().Namespace(ns).Name(pod).Resource(resPods).SubResource("log").
		VersionedParams(opts, c.params).Stream(ctx)
}

// serverVersion asks the API server its version: the cheapest request
// that shows it answers and accepts our credentials.
func (c *coreClient) serverVersion(ctx context.Context) (*version.Info, error) {
	body, err := c.rest.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var info version.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("reading the API server's version: %w", err)
	}
	return &info, nil
}
