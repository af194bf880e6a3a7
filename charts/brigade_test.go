// Package charts holds the Helm charts; this test renders charts/brigade
// with helm (built by test/k8s/build-tools.sh) and applies what it renders
// to a real kube-apiserver (internal/testenv/kube).
package charts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	netv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/brigadeplatform/brigade/internal/testenv/kube"
)

const chartDir = "brigade"

// helmPath finds helm: BRIGADE_HELM, else beside the Kubernetes test
// binaries, else on PATH. Without it the test is skipped, or fails with
// BRIGADE_TEST_KUBE=1 (as in CI).
func helmPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("BRIGADE_HELM"), filepath.Join(kube.ToolsDir(), "helm")}
	if p, err := exec.LookPath("helm"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); c != "" && err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return c
		}
	}
	why := "helm is not in BRIGADE_HELM, " + kube.ToolsDir() + " or PATH; run test/k8s/build-tools.sh, which builds it there"
	if os.Getenv("BRIGADE_TEST_KUBE") == "1" {
		t.Fatalf("%s (BRIGADE_TEST_KUBE=1 makes this a failure, not a skip)", why)
	}
	t.Skip(why)
	return ""
}

// helm runs helm with its caches and config in a temporary folder.
func helm(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args[:1], " "), err, stderr.String()+out.String())
	}
	return out.String(), nil
}

// valueSet is one way to install the chart.
type valueSet struct {
	name, namespace, values string
	check                   func(t *testing.T, objs map[string]*unstructured.Unstructured)
}

const testImage = "example.test/brigade:v9.9.9"

var valueSets = []valueSet{
	{
		name:      "sqlite",
		namespace: "brigade-sqlite",
		values: `
image: {repository: example.test/brigade, tag: v9.9.9}
rootPassword: {value: s3cret-root-password}
sqlite: {persistence: {size: 5Gi, storageClass: standard}}
`,
		check: checkSQLite,
	},
	{
		name:      "postgres",
		namespace: "brigade-pg",
		values: `
image: {repository: example.test/brigade, tag: v9.9.9}
database:
  type: postgres
  postgres: {existingSecret: brigade-db, secretKey: url}
rootPassword: {existingSecret: brigade-root, secretKey: password}
secretsKey: {value: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff}
api: {replicas: 3}
server:
  tlsSecret: brigade-serving-tls
  extraArgs: ["--max-workers-per-project=2"]
substrate: {namespacePrefix: proj-, storageClass: nfs}
ingress:
  enabled: true
  className: nginx
  host: brigade.example.test
  tls: {enabled: true, secretName: brigade-ingress-tls}
`,
		check: checkPostgres,
	},
}

func TestChart(t *testing.T) {
	bin := helmPath(t)
	flags := serverFlags(t)
	c := kube.Start(t, kube.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			values := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(values, []byte(vs.values), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := helm(t, bin, "lint", "--strict", chartDir, "-f", values); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			rendered, err := helm(t, bin, "template", "rel-"+vs.name, chartDir, "--namespace", vs.namespace, "-f", values)
			if err != nil {
				t.Fatal(err)
			}
			objs := decode(t, rendered)
			if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: vs.namespace}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, key := range slices.Sorted(mapsKeys(objs)) {
				apply(ctx, t, dyn, mapper, vs.namespace, objs[key])
			}
			for _, d := range byKind(objs, "Deployment") {
				checkFlags(t, d, flags)
			}
			vs.check(t, objs)
			checkRBAC(ctx, t, c, vs.namespace, objs)
			for _, d := range byKind(objs, "Deployment") {
				createPod(ctx, t, c, vs.namespace, as[appsv1.Deployment](t, d))
			}
		})
	}
}

// decode splits helm's output into objects, keyed "Kind/name".
func decode(t *testing.T, rendered string) map[string]*unstructured.Unstructured {
	t.Helper()
	objs := map[string]*unstructured.Unstructured{}
	r := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(rendered), 4096)
	for {
		var m map[string]any
		if err := r.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("helm's output is not YAML: %v\n%s", err, rendered)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		objs[u.GetKind()+"/"+u.GetName()] = u
	}
	if len(objs) == 0 {
		t.Fatalf("helm rendered nothing:\n%s", rendered)
	}
	return objs
}

func mapsKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// apply creates obj through the dynamic client: the apiserver validates it
// as it would from kubectl or helm install.
func apply(ctx context.Context, t *testing.T, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, ns string, obj *unstructured.Unstructured) {
	t.Helper()
	gvk := obj.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatalf("%s %s: the apiserver does not serve %s: %v", gvk.Kind, obj.GetName(), gvk, err)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if m.Scope.Name() == "namespace" {
		ri = dyn.Resource(m.Resource).Namespace(ns)
	}
	if _, err := ri.Create(ctx, obj, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatalf("the apiserver refused %s %s: %v", gvk.Kind, obj.GetName(), err)
	}
}

func byKind(objs map[string]*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, k := range slices.Sorted(mapsKeys(objs)) {
		if objs[k].GetKind() == kind {
			out = append(out, objs[k])
		}
	}
	return out
}

func as[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &v); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return &v
}

func deployment(t *testing.T, objs map[string]*unstructured.Unstructured, name string) *appsv1.Deployment {
	t.Helper()
	u, ok := objs["Deployment/"+name]
	if !ok {
		t.Fatalf("no Deployment %s among %v", name, slices.Sorted(mapsKeys(objs)))
	}
	return as[appsv1.Deployment](t, u)
}

// args is the server container's arguments as flag -> value.
func args(t *testing.T, d *appsv1.Deployment) map[string]string {
	t.Helper()
	ctr := d.Spec.Template.Spec.Containers[0]
	if !slices.Equal(ctr.Command, []string{"brigade", "server"}) {
		t.Fatalf("%s runs %v, want brigade server", d.Name, ctr.Command)
	}
	out := map[string]string{}
	for _, a := range ctr.Args {
		k, v, _ := strings.Cut(a, "=")
		out[k] = v
	}
	return out
}

func wantArgs(t *testing.T, d *appsv1.Deployment, want map[string]string) {
	t.Helper()
	got := args(t, d)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s=%q, want %q (all: %v)", d.Name, k, got[k], v, got)
		}
	}
}

func envFrom(d *appsv1.Deployment, name string) *corev1.EnvVar {
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return &e
		}
	}
	return nil
}

func wantSecretEnv(t *testing.T, d *appsv1.Deployment, name, secret, key string) {
	t.Helper()
	e := envFrom(d, name)
	if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != key {
		t.Errorf("%s: %s = %+v, want secret %s key %s", d.Name, name, e, secret, key)
	}
}

func checkSQLite(t *testing.T, objs map[string]*unstructured.Unstructured) {
	d := deployment(t, objs, "rel-sqlite-brigade")
	if len(byKind(objs, "Deployment")) != 1 || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("SQLite wants one Deployment of one replica, recreated: %d, %v", len(byKind(objs, "Deployment")), d.Spec.Strategy.Type)
	}
	wantArgs(t, d, map[string]string{"--role": "all", "--substrate": "kubernetes", "--kube-workers": "pod",
		"--kube-image": testImage, "--data-dir": "/var/lib/brigade",
		"--api-address": "http://rel-sqlite-brigade.brigade-sqlite.svc:7745"})
	if d.Spec.Template.Spec.Containers[0].Image != testImage {
		t.Errorf("image %s", d.Spec.Template.Spec.Containers[0].Image)
	}
	if envFrom(d, "BRIGADE_DATABASE") != nil || envFrom(d, "BRIGADE_SECRETS_KEY") != nil {
		t.Error("SQLite got a database URL or a secrets key it was not given")
	}
	wantSecretEnv(t, d, "BRIGADE_ROOT_PASSWORD", "rel-sqlite-brigade-secrets", "root-password")
	pvc := as[corev1.PersistentVolumeClaim](t, objs["PersistentVolumeClaim/rel-sqlite-brigade-data"])
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "5Gi" || *pvc.Spec.StorageClassName != "standard" {
		t.Errorf("data claim %v %v", q.String(), pvc.Spec.StorageClassName)
	}
	vol := d.Spec.Template.Spec.Volumes[0]
	if vol.PersistentVolumeClaim == nil || vol.PersistentVolumeClaim.ClaimName != pvc.Name {
		t.Errorf("the data volume is %+v, not the claim", vol)
	}
	if _, ok := objs["Ingress/rel-sqlite-brigade"]; ok {
		t.Error("an Ingress nobody asked for")
	}
	svc := as[corev1.Service](t, objs["Service/rel-sqlite-brigade"])
	if svc.Spec.Selector["app.kubernetes.io/component"] != "server" {
		t.Errorf("the Service selects %v", svc.Spec.Selector)
	}
}

func checkPostgres(t *testing.T, objs map[string]*unstructured.Unstructured) {
	api := deployment(t, objs, "rel-postgres-brigade-api")
	sched := deployment(t, objs, "rel-postgres-brigade-scheduler")
	if *api.Spec.Replicas != 3 || *sched.Spec.Replicas != 1 {
		t.Errorf("replicas: api %d, scheduler %d; want 3 and 1", *api.Spec.Replicas, *sched.Spec.Replicas)
	}
	addr := "https://rel-postgres-brigade.brigade-pg.svc:7745"
	wantArgs(t, api, map[string]string{"--role": "api", "--substrate": "none", "--api-address": addr,
		"--tls-cert": "/etc/brigade/tls/tls.crt", "--tls-key": "/etc/brigade/tls/tls.key", "--max-workers-per-project": "2"})
	wantArgs(t, sched, map[string]string{"--role": "scheduler", "--substrate": "kubernetes", "--kube-workers": "pod",
		"--kube-image": testImage, "--kube-namespace-prefix": "proj-", "--kube-storage-class": "nfs", "--api-address": addr})
	for _, d := range []*appsv1.Deployment{api, sched} {
		wantSecretEnv(t, d, "BRIGADE_DATABASE", "brigade-db", "url")
		wantSecretEnv(t, d, "BRIGADE_ROOT_PASSWORD", "brigade-root", "password")
		wantSecretEnv(t, d, "BRIGADE_SECRETS_KEY", "rel-postgres-brigade-secrets", "secrets-key")
		if p := d.Spec.Template.Spec.Containers[0].ReadinessProbe; p == nil || p.HTTPGet.Scheme != corev1.URISchemeHTTPS || p.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: readiness probe %+v", d.Name, p)
		}
	}
	if *api.Spec.Template.Spec.AutomountServiceAccountToken || !*sched.Spec.Template.Spec.AutomountServiceAccountToken {
		t.Error("only the scheduler, which talks to the apiserver, should get the service account's token")
	}
	if _, ok := objs["PersistentVolumeClaim/rel-postgres-brigade-data"]; ok {
		t.Error("a SQLite claim with PostgreSQL")
	}
	svc := as[corev1.Service](t, objs["Service/rel-postgres-brigade"])
	if svc.Spec.Selector["app.kubernetes.io/component"] != "api" {
		t.Errorf("the Service selects %v, want the API pods", svc.Spec.Selector)
	}
	ing := as[netv1.Ingress](t, objs["Ingress/rel-postgres-brigade"])
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "brigade-ingress-tls" || ing.Spec.TLS[0].Hosts[0] != "brigade.example.test" ||
		*ing.Spec.IngressClassName != "nginx" || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != svc.Name ||
		ing.Annotations["nginx.ingress.kubernetes.io/backend-protocol"] != "HTTPS" {
		t.Errorf("ingress %+v", ing.Spec)
	}
}

// checkRBAC asks the apiserver's own authorizer whether the chart's
// service account may do what the kubernetes substrate does.
func checkRBAC(ctx context.Context, t *testing.T, c *kube.Cluster, ns string, objs map[string]*unstructured.Unstructured) {
	t.Helper()
	sa := byKind(objs, "ServiceAccount")
	if len(sa) != 1 {
		t.Fatalf("%d service accounts", len(sa))
	}
	user := "system:serviceaccount:" + ns + ":" + sa[0].GetName()
	for _, a := range []struct{ verb, resource, sub, ns string }{
		{"create", "namespaces", "", ""}, {"get", "namespaces", "", ""},
		{"create", "pods", "", "brigade-p1"}, {"get", "pods", "", "brigade-p1"}, {"delete", "pods", "", "brigade-p1"},
		{"list", "pods", "", ""}, {"watch", "pods", "", ""}, {"get", "pods", "log", "brigade-p1"},
		{"create", "secrets", "", "brigade-p1"}, {"update", "secrets", "", "brigade-p1"}, {"delete", "secrets", "", "brigade-p1"},
		{"list", "secrets", "", ""},
		{"create", "persistentvolumeclaims", "", "brigade-p1"}, {"delete", "persistentvolumeclaims", "", "brigade-p1"},
		{"list", "persistentvolumeclaims", "", ""},
	} {
		r, err := c.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authv1.SubjectAccessReview{Spec: authv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authv1.ResourceAttributes{Verb: a.verb, Resource: a.resource, Subresource: a.sub, Namespace: a.ns},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Status.Allowed {
			t.Errorf("%s may not %s %s/%s in %q: %s", user, a.verb, a.resource, a.sub, a.ns, r.Status.Reason)
		}
	}
}

// serverFlags are the flags `brigade server` has, from its --help, so that
// the chart passes none the server lacks.
func serverFlags(t *testing.T) map[string]bool {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "brigade")
	build := exec.Command("go", "build", "-o", bin, "../cmd/brigade")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building brigade: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "server", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("brigade server --help: %v\n%s", err, out)
	}
	flags := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		if name, ok := strings.CutPrefix(f, "--"); ok && name != "" {
			flags["--"+strings.TrimRight(name, ",")] = true
		}
	}
	if !flags["--role"] || !flags["--kube-image"] {
		t.Fatalf("no flags found in brigade server --help:\n%s", out)
	}
	return flags
}

func checkFlags(t *testing.T, u *unstructured.Unstructured, flags map[string]bool) {
	t.Helper()
	d := as[appsv1.Deployment](t, u)
	for k := range args(t, d) {
		if !flags[k] {
			t.Errorf("%s passes %s, which brigade server does not have", d.Name, k)
		}
	}
}

// TestChartRefusesValuesThatCannotWork: helm template fails, saying what
// to set.
func TestChartRefusesValuesThatCannotWork(t *testing.T) {
	bin := helmPath(t)
	for _, c := range []struct{ name, values, want string }{
		{"PostgresWithoutURL", "database: {type: postgres}\nsecretsKey: {value: " + strings.Repeat("ab", 32) + "}",
			"database.postgres.existingSecret"},
		{"PostgresWithoutSecretsKey", "database: {type: postgres, postgres: {url: 'postgres://u:p@db/b'}}", "secretsKey.existingSecret"},
		{"UnknownDatabase", "database: {type: mysql}", `database.type "mysql"`},
		{"ShortSecretsKey", "secretsKey: {value: abc}", "64 hex characters"},
		{"IngressTLSWithoutSecret", "ingress: {enabled: true, tls: {enabled: true}}", "ingress.tls.secretName"},
	} {
		t.Run(c.name, func(t *testing.T) {
			values := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(values, []byte(c.values), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := helm(t, bin, "template", "rel", chartDir, "-f", values)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("helm template with %s: %v, want an error naming %s\n%s", c.values, err, c.want, out)
			}
		})
	}
}

// createPod creates a pod from the Deployment's template, as its
// ReplicaSet would (the test cluster runs no deployment controller): the
// template passes admission, with its service account, security context
// and volumes.
func createPod(ctx context.Context, t *testing.T, c *kube.Cluster, ns string, d *appsv1.Deployment) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: d.Spec.Template.ObjectMeta, Spec: d.Spec.Template.Spec}
	pod.Name = d.Name + "-pod"
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatalf("the apiserver refused a pod of Deployment %s: %v", d.Name, err)
	}
}
