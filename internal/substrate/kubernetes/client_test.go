package kubernetes

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestCoreClientRequests checks the requests coreClient makes against a
// fake API server: the paths, the content type the typed clientset used
// (protobuf, JSON accepted), the options as query parameters, and that the
// API's errors come back as the Status errors apierrors recognises.
func TestCoreClientRequests(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" ct="+r.Header.Get("Content-Type"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/version":
			_, _ = io.WriteString(w, `{"major":"1","minor":"35","gitVersion":"v1.35.0"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods":
			_, _ = io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},`+
				`"items":[{"metadata":{"name":"p1","namespace":"ns"}}]}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/ns/pods/p1/log":
			_, _ = io.WriteString(w, "line one\nline two\n")
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/ns/pods/gone":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound",`+
				`"message":"pods \"gone\" not found","code":404,"details":{"name":"gone","kind":"pods"}}`)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/namespaces/ns/secrets":
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"AlreadyExists","code":409}`)
		default:
			_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Success"}`)
		}
	}))
	defer srv.Close()

	c, err := newCoreClient(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, err := c.serverVersion(ctx); err != nil || v.GitVersion != "v1.35.0" {
		t.Fatalf("serverVersion = %+v, %v", v, err)
	}
	var pods corev1.PodList
	if err := c.list(ctx, "", resPods, metav1.ListOptions{LabelSelector: "a=b"}, &pods); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Name != "p1" || pods.ResourceVersion != "7" {
		t.Fatalf("list read %+v", pods)
	}
	if err := c.get(ctx, "ns", resPods, "gone", &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get of a missing pod: %v, want a NotFound error", err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}}
	if err := c.create(ctx, "ns", resSecrets, sec); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create of an existing secret: %v, want an AlreadyExists error", err)
	}
	if err := c.update(ctx, "ns", resSecrets, "s", sec); err != nil {
		t.Fatal(err)
	}
	if err := c.create(ctx, "", resNamespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.delete(ctx, "ns", resClaims, "ws", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := c.logs(ctx, "ns", "p1", &corev1.PodLogOptions{Container: "main", Follow: true, Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(body) != "line one\nline two\n" {
		t.Fatalf("logs read %q, %v", body, err)
	}

	want := []string{
		"GET /version ct=",
		"GET /api/v1/pods?labelSelector=a%3Db ct=",
		"GET /api/v1/namespaces/ns/pods/gone ct=",
		"POST /api/v1/namespaces/ns/secrets ct=application/vnd.kubernetes.protobuf",
		"PUT /api/v1/namespaces/ns/secrets/s ct=application/vnd.kubernetes.protobuf",
		"POST /api/v1/namespaces ct=application/vnd.kubernetes.protobuf",
		"DELETE /api/v1/namespaces/ns/persistentvolumeclaims/ws ct=application/vnd.kubernetes.protobuf",
		"GET /api/v1/namespaces/ns/pods/p1/log?container=main&follow=true&timestamps=true ct=",
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// The brigade binary links no typed clientset or informer factory: their
// package initialisation registers every built-in API group in every
// brigade process (tens of MB of binary and resident memory, milliseconds
// of start). Tests may use them; the substrate must not.
func TestBinaryLinksNoClientset(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the binary's packages")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/brigadeplatform/brigade/cmd/brigade").Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/brigade: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "k8s.io/client-go/kubernetes" || pkg == "k8s.io/client-go/informers" ||
			strings.HasPrefix(pkg, "k8s.io/client-go/kubernetes/typed/") {
			t.Errorf("cmd/brigade links %s: use the core/v1 client of client.go instead", pkg)
		}
	}
}
