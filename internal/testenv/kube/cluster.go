package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// startDeadline bounds each step of starting the control plane: generous,
// for a busy 2-core machine.
const startDeadline = 2 * time.Minute

// Options shape a cluster; the zero value works.
type Options struct {
	// PodReadyDelay and PodCompleteDelay are how long kwok waits before it
	// marks a scheduled pod running, and a running pod (restartPolicy
	// Never or OnFailure) succeeded. Defaults: 500ms and 2s.
	PodReadyDelay, PodCompleteDelay time.Duration
	// GatedNodes hold their running pods until the test releases them
	// (Cluster.Release), so that it can see pods run at the same time
	// without assuming anything about timing.
	GatedNodes []string
	// ContainerLog is the log every container has, served through the API
	// (default DefaultContainerLog).
	ContainerLog []string
	// Kubelet also starts containerd and a real kubelet, registered as
	// the node Cluster.Node, whose pods run real containers (runc) and
	// write real logs; the images BusyboxImage and PauseImage are
	// imported, and every volume claim gets a hostPath volume. The test
	// is skipped (or fails, with BRIGADE_TEST_KUBE=1) unless the machine
	// has what NeedKubelet checks.
	Kubelet bool
}

// Cluster is a running control plane.
type Cluster struct {
	// Config reaches the apiserver as a cluster administrator.
	Config *rest.Config
	// Client is a clientset on Config.
	Client kubernetes.Interface
	// Kubeconfig is the path of a kubeconfig file for Config.
	Kubeconfig string
	// Dir holds the cluster's files and each binary's log (<name>.log).
	Dir string
	// Node is the name of the kubelet's node (Options.Kubelet).
	Node string
	// HostIP is this machine's address on the kubelet's pod network
	// (Options.Kubelet): pods reach a server under test listening there.
	HostIP string

	procs   []*process
	kubelet *kubeletNode
}

// Start starts a control plane in a fresh temporary directory, on free
// loopback ports, and stops it when the test ends. It skips (or, with
// BRIGADE_TEST_KUBE=1, fails) the test when the binaries are missing.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	NeedTools(t)
	if o.Kubelet {
		NeedKubelet(t)
	}
	c := &Cluster{Dir: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range c.procs {
				t.Logf("the end of %s's log:\n%s", p.name, p.tail(20))
			}
			if c.kubelet != nil {
				for _, p := range c.kubelet.procs {
					t.Logf("the end of %s's log:\n%s", p.name, p.tail(40))
				}
			}
		}
		for _, err := range c.stopKubelet() {
			t.Errorf("tearing down the kubelet's node: %v", err)
		}
		c.stop()
	})
	if err := c.start(o); err != nil {
		t.Fatalf("starting the Kubernetes test control plane: %v", err)
	}
	if o.Kubelet {
		if err := c.startKubelet(); err != nil {
			t.Fatalf("starting the test kubelet: %v", err)
		}
	}
	return c
}

func (c *Cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(30 * time.Second)
	}
	c.procs = nil
}

func (c *Cluster) start(o Options) error {
	ports, err := freePorts(7)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, schedPort, kcmPort, kwokPort, etcdMetrics := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6]
	dir := c.Dir
	token, err := randomHex(16)
	if err != nil {
		return err
	}
	if err := writeServiceAccountKeys(dir); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"),
		[]byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return fmt.Errorf("writing the token file: %w", err)
	}

	etcdURL := "http://" + addr(etcdClient)
	etcd, err := startProcess(dir, "etcd",
		"--name=test", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls=http://"+addr(etcdPeer), "--initial-advertise-peer-urls=http://"+addr(etcdPeer),
		"--initial-cluster=test=http://"+addr(etcdPeer),
		"--listen-metrics-urls=http://"+addr(etcdMetrics),
		"--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, etcd)
	if err := waitFor("etcd to be healthy", startDeadline, c.procs, func() error {
		return httpOK(http.DefaultClient, etcdURL+"/health")
	}); err != nil {
		return err
	}

	certDir := filepath.Join(dir, "certs")
	api, err := startProcess(dir, "kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+certDir,
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		// The kubelet's node (Options.Kubelet) is reached at its
		// loopback address, not its made-up host name.
		"--kubelet-preferred-address-types=InternalIP",
		"--profiling=false")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, api)
	caFile := filepath.Join(certDir, "apiserver.crt")
	host := "https://" + addr(apiPort)
	if err := waitFor("kube-apiserver's certificate", startDeadline, c.procs, func() error {
		_, err := os.Stat(caFile)
		return err
	}); err != nil {
		return err
	}
	c.Config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: caFile},
		QPS:             100,
		Burst:           200,
	}
	httpClient, err := rest.HTTPClientFor(c.Config)
	if err != nil {
		return fmt.Errorf("building an HTTP client for the apiserver: %w", err)
	}
	if err := waitFor("kube-apiserver to be ready", startDeadline, c.procs, func() error {
		return httpOK(httpClient, host+"/readyz")
	}); err != nil {
		return err
	}
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return fmt.Errorf("building a clientset: %w", err)
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig(host, caFile, token)), 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}

	sched, err := startProcess(dir, "kube-scheduler",
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(schedPort))
	if err != nil {
		return err
	}
	c.procs = append(c.procs, sched)
	kcm, err := startProcess(dir, "kube-controller-manager",
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(kcmPort),
		"--service-account-private-key-file="+filepath.Join(dir, "sa.key"),
		"--root-ca-file="+caFile,
		"--use-service-account-credentials=false",
		// Only what pods need here: each namespace's default service
		// account and its token, namespace deletion, node taints and the
		// garbage collector (owner references); for a real kubelet's
		// pods also the root CA config map of service account volumes,
		// and binding and releasing volume claims.
		"--controllers=serviceaccount-controller,serviceaccount-token-controller,namespace-controller,"+
			"node-lifecycle-controller,garbage-collector-controller,taint-eviction-controller,"+
			"root-ca-certificate-publisher-controller,persistentvolume-binder-controller,"+
			"persistentvolumeclaim-protection-controller,persistentvolume-protection-controller")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, kcm)
	certFile, keyFile, err := writeServingCert(dir)
	if err != nil {
		return err
	}
	logFile := filepath.Join(dir, "container.log")
	if o.ContainerLog == nil {
		o.ContainerLog = DefaultContainerLog
	}
	if err := writeContainerLog(logFile, o.ContainerLog); err != nil {
		return err
	}
	kwokConfig := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(kwokConfig, []byte(kwokConfiguration(o, kwokPort, certFile, keyFile, logFile)), 0o600); err != nil {
		return fmt.Errorf("writing kwok's configuration: %w", err)
	}
	kwok, err := startProcess(dir, "kwok", "--kubeconfig="+c.Kubeconfig, "--config="+kwokConfig)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, kwok)

	// The controller manager is up once it has given the default namespace
	// its service account (without it, pods are refused).
	ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
	defer cancel()
	return waitFor("the default service account (kube-controller-manager)", startDeadline, c.procs, func() error {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// httpOK GETs url and wants 200.
func httpOK(cli *http.Client, url string) error {
	resp, err := cli.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeServiceAccountKeys writes the key pair that signs service account
// tokens: sa.key (private) and sa.pub.
func writeServiceAccountKeys(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generating the service account key: %w", err)
	}
	priv, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding the service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("encoding the service account public key: %w", err)
	}
	return errors.Join(
		os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: priv}), 0o600),
		os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600))
}

func kubeconfig(host, caFile, token string) string {
	return strings.Join([]string{
		"apiVersion: v1",
		"kind: Config",
		"clusters:",
		"- name: test",
		"  cluster: {server: " + strconv.Quote(host) + ", certificate-authority: " + strconv.Quote(caFile) + "}",
		"users:",
		"- name: admin",
		"  user: {token: " + strconv.Quote(token) + "}",
		"contexts:",
		"- name: test",
		"  context: {cluster: test, user: admin}",
		"current-context: test",
		"",
	}, "\n")
}
