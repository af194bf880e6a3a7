package kube

import (
	"os"
	"regexp"
	"testing"
)

// The versions here name the tools directory the tests look in; the
// build script and the tools module must build those same versions, or
// the tests would run what a stale directory holds, or nothing.
func TestToolVersionsMatchTheBuildScript(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	script := read("../../../test/k8s/build-tools.sh")
	mod := read("../../../test/k8s/tools/go.mod")
	q := regexp.QuoteMeta
	for _, c := range []struct{ text, pattern, what string }{
		{script, `(?m)^K8S_VERSION=` + q(KubernetesVersion) + `$`, "K8S_VERSION in build-tools.sh"},
		{script, `(?m)^ETCD_VERSION=` + q(EtcdVersion) + `$`, "ETCD_VERSION in build-tools.sh"},
		{script, `(?m)^KWOK_VERSION=` + q(KwokVersion) + `$`, "KWOK_VERSION in build-tools.sh"},
		{script, `(?m)^HELM_VERSION=` + q(HelmVersion) + `$`, "HELM_VERSION in build-tools.sh"},
		{script, `(?m)^CONTAINERD_VERSION=` + q(ContainerdVersion) + `$`, "CONTAINERD_VERSION in build-tools.sh"},
		{mod, `(?m)^\s+k8s\.io/kubernetes ` + q(KubernetesVersion) + `$`, "k8s.io/kubernetes in the tools module"},
		{mod, `(?m)^\s+go\.etcd\.io/etcd/server/v3 ` + q(EtcdVersion) + `$`, "etcd in the tools module"},
		{mod, `(?m)^\s+helm\.sh/helm/v4 ` + q(HelmVersion) + `$`, "helm in the tools module"},
	} {
		if !regexp.MustCompile(c.pattern).MatchString(c.text) {
			t.Errorf("%s does not pin the version this package expects (%s)", c.what, c.pattern)
		}
	}
}
