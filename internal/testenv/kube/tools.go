// Package kube starts a throwaway Kubernetes control plane for tests:
// etcd, kube-apiserver (token authentication, RBAC), kube-scheduler,
// kube-controller-manager (namespaces' default service accounts, node
// taints) and kwok, which plays the nodes and drives pods through their
// lifecycle (it runs no processes). The binaries come from
// test/k8s/build-tools.sh, in BRIGADE_K8S_TOOLS.
//
// A test that needs the cluster calls Start; without the binaries it is
// skipped with the command that builds them, and with BRIGADE_TEST_KUBE=1
// (as in CI) it fails instead.
package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Versions of the toolset; they name the default tools directory and
// must match test/k8s/build-tools.sh.
const (
	KubernetesVersion = "v1.34.4"
	EtcdVersion       = "v3.6.4"
	KwokVersion       = "v0.7.0"
	HelmVersion       = "v4.0.5"
	// ContainerdVersion is the kubelet tier's containerd (and its runc
	// shim and ctr), built into ContainerdDir: Debian's 1.6.20 closes its
	// end of a container's output pipes as soon as the container exits
	// (fixed in 1.6.22 and 1.7.3), cutting whatever it had not read yet.
	ContainerdVersion = "v2.4.2"
)

// Tools are the binaries a control plane needs.
var Tools = []string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kwok"}

// ToolsDir is where the binaries are: BRIGADE_K8S_TOOLS, else the
// directory build-tools.sh fills by default.
func ToolsDir() string {
	if d := os.Getenv("BRIGADE_K8S_TOOLS"); d != "" {
		return d
	}
	return filepath.Join("/var/cache/brigade-k8s",
		"k8s-"+KubernetesVersion+"_etcd-"+EtcdVersion+"_kwok-"+KwokVersion+"_helm-"+HelmVersion)
}

// ContainerdDir is where build-tools.sh puts containerd, its runc shim
// and ctr: a directory of ToolsDir named for their version.
func ContainerdDir() string { return filepath.Join(ToolsDir(), "containerd-"+ContainerdVersion) }

// missingTools says which binaries are not in dir ("" when none is).
func missingTools(dir string) string {
	var missing []string
	for _, name := range Tools {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("the Kubernetes test binaries %v are not in %s", missing, dir)
}

// NeedTools skips the test when the binaries are missing, saying how to
// build them; with BRIGADE_TEST_KUBE=1 (as in CI) it fails instead.
func NeedTools(t testing.TB) {
	t.Helper()
	if why := missingTools(ToolsDir()); why != "" {
		lack(t, why)
	}
}

func lack(t testing.TB, why string) {
	t.Helper()
	const how = "run test/k8s/build-tools.sh (it builds them from the Go module proxy into BRIGADE_K8S_TOOLS; " +
		"kube-apiserver takes a while the first time)"
	if os.Getenv("BRIGADE_TEST_KUBE") == "1" {
		t.Fatalf("%s; %s (BRIGADE_TEST_KUBE=1 makes this a failure, not a skip)", why, how)
	}
	t.Skipf("%s; %s", why, how)
}

// tool is the path of one binary.
func tool(name string) string { return filepath.Join(ToolsDir(), name) }
