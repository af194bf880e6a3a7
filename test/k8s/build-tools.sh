#!/usr/bin/env bash
# Builds the Kubernetes control plane that the kubernetes substrate's tests
# run against (etcd, kube-apiserver, kube-scheduler, kube-controller-manager,
# kwok, and the kubelet of the real-container tier) from the Go module proxy,
# into a cache directory kept between runs. It does nothing for a binary that is already there.
#
#   BRIGADE_K8S_TOOLS    where the binaries go; the tests read the same
#                        variable (default below, named for the versions).
#   BRIGADE_K8S_GOCACHE  Go's build cache for these builds, outside the repo
#                        (default: beside the binaries).
#
# Versions are pinned in test/k8s/tools/go.mod (Kubernetes, etcd) and below
# (kwok). kube-apiserver takes the longest: on 2 shared cores expect tens of
# minutes the first time. Each build prints its duration.
set -euo pipefail

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.4
KWOK_VERSION=v0.7.0

here="$(cd "$(dirname "$0")" && pwd)"
tools_mod="$here/tools"
cache_root=/var/cache/brigade-k8s
out="${BRIGADE_K8S_TOOLS:-$cache_root/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}}"
export GOCACHE="${BRIGADE_K8S_GOCACHE:-$cache_root/gocache}"
export GOFLAGS=-mod=readonly
export CGO_ENABLED=0
mkdir -p "$out" "$GOCACHE"

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
k8s_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=${minor} \
 -X k8s.io/component-base/version.gitTreeState=clean"

# build NAME COMMAND...: runs COMMAND to write $tmp/NAME unless $out/NAME
# exists, then moves it into place, so an interrupted build leaves nothing
# that looks finished.
build() {
  local name="$1"; shift
  if [ -x "$out/$name" ]; then
    echo "k8s tools: $name present in $out"
    return
  fi
  local start; start=$(date +%s)
  echo "k8s tools: building $name ..."
  "$@"
  mv -f "$tmp/$name" "$out/$name"
  echo "k8s tools: built $name in $(( $(date +%s) - start ))s"
}

tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

k8s_build() { # NAME: a command of k8s.io/kubernetes, built in the tools module
  (cd "$tools_mod" && go build -trimpath -ldflags "$k8s_ldflags" -o "$tmp/$1" "k8s.io/kubernetes/cmd/$1")
}
etcd_build() {
  (cd "$tools_mod" && go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" ./cmd/etcd)
}
kwok_build() { # kwok's own go.mod pins its dependencies; build it outside any module
  (cd "$tmp" && GOFLAGS= GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}")
}

build etcd etcd_build
build kwok kwok_build
build kube-scheduler k8s_build kube-scheduler
build kube-controller-manager k8s_build kube-controller-manager
build kube-apiserver k8s_build kube-apiserver
# kubelet only for the slower tier (real containers through containerd and
# runc; see README.md): the kwok tier does not need it.
build kubelet k8s_build kubelet

# Helm, for the chart's test (charts/brigade): helm's own go.mod pins its
# dependencies, so like kwok it is built outside any module, into the same
# directory as the control plane. The chart test finds it there.
HELM_VERSION=v4.3.2
helm_build() {
  (cd "$tmp" && GOFLAGS= GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}")
}
build helm helm_build

echo "k8s tools: ready in $out"
