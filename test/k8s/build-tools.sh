#!/usr/bin/env bash
# Builds the Kubernetes control plane that the kubernetes substrate's tests
# run against (etcd, kube-apiserver, kube-scheduler, kube-controller-manager,
# kwok, and the kubelet and containerd of the real-container tier), and
# helm for the chart's test, from the Go module proxy, into a cache directory kept
# between runs. It does nothing for a binary that is already there.
#
#   BRIGADE_K8S_TOOLS    where the binaries go; the tests read the same
#                        variable (default below, named for the versions).
#   BRIGADE_K8S_GOCACHE  Go's build cache for these builds, outside the repo
#                        (default: beside the binaries).
#
# Versions are pinned in test/k8s/tools/go.mod (Kubernetes, etcd, helm,
# built together so that they share one build of the Kubernetes libraries)
# and below (kwok, whose own go.mod needs other Kubernetes libraries, and
# containerd, built by its own go.mod into a directory named for it). Each
# step prints its duration: cold, on a quiet 2-core machine, about 6
# minutes for the module's binaries and 1 for kwok (plus the modules'
# download); containerd took 150 s of CPU (5.5 minutes on a busy machine).
set -euo pipefail

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.4
KWOK_VERSION=v0.7.0
HELM_VERSION=v4.0.5
CONTAINERD_VERSION=v2.4.2

here="$(cd "$(dirname "$0")" && pwd)"
tools_mod="$here/tools"
cache_root=/var/cache/brigade-k8s
out="${BRIGADE_K8S_TOOLS:-$cache_root/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}}"
export GOCACHE="${BRIGADE_K8S_GOCACHE:-$cache_root/gocache}"
export GOFLAGS=-mod=readonly
export CGO_ENABLED=0
mkdir -p "$out" "$GOCACHE"

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
# Versions the binaries report: -X of a package a binary does not link is
# ignored, so one set serves them all. Helm's lint and templates assume
# the Kubernetes version of its client libraries.
ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=${minor} \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION} \
 -X helm.sh/helm/v4/internal/version.kubeClientVersionMajor=1 \
 -X helm.sh/helm/v4/internal/version.kubeClientVersionMinor=${minor} \
 -X helm.sh/helm/v4/pkg/chart/common.k8sVersionMajor=1 \
 -X helm.sh/helm/v4/pkg/chart/common.k8sVersionMinor=${minor} \
 -X helm.sh/helm/v4/pkg/chart/v2/lint/rules.k8sVersionMajor=1 \
 -X helm.sh/helm/v4/pkg/chart/v2/lint/rules.k8sVersionMinor=${minor} \
 -X helm.sh/helm/v4/pkg/internal/v3/lint/rules.k8sVersionMajor=1 \
 -X helm.sh/helm/v4/pkg/internal/v3/lint/rules.k8sVersionMinor=${minor}"

# The tools module's binaries (NAME=package); the kubelet is only for the
# slower tier (real containers through containerd and runc; see
# README.md), helm for the chart's test (charts/brigade).
module_tools=(
  etcd=./cmd/etcd
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
  kubelet=k8s.io/kubernetes/cmd/kubelet
  helm=helm.sh/helm/v4/cmd/helm
)

# Binaries are built into $tmp and moved into place once built, so that an
# interrupted build leaves nothing that looks finished.
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# The missing ones in one go build, which compiles what they share once
# and keeps both cores busy.
names=(); pkgs=()
for t in "${module_tools[@]}"; do
  if [ -x "$out/${t%%=*}" ]; then
    echo "k8s tools: ${t%%=*} present in $out"
  else
    names+=("${t%%=*}"); pkgs+=("${t#*=}")
  fi
done
if [ ${#names[@]} -gt 0 ]; then
  start=$(date +%s)
  echo "k8s tools: building ${names[*]} ..."
  (cd "$tools_mod" && go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}")
  for n in "${names[@]}"; do # go build names each for its package's last element
    mv -f "$tmp/$n" "$out/$n"
  done
  echo "k8s tools: built ${names[*]} in $(( $(date +%s) - start ))s"
fi

# kwok's own go.mod pins its dependencies: it is built outside any module.
if [ -x "$out/kwok" ]; then
  echo "k8s tools: kwok present in $out"
else
  start=$(date +%s)
  echo "k8s tools: building kwok ..."
  (cd "$tmp" && GOFLAGS= GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}")
  mv -f "$tmp/kwok" "$out/kwok"
  echo "k8s tools: built kwok in $(( $(date +%s) - start ))s"
fi

# containerd, its runc shim and ctr for the kubelet tier, by containerd's
# own go.mod, outside any module: Debian's containerd (1.6.20) closes its
# end of a container's output pipes as soon as the container exits, and
# loses what it had not read yet (fixed in 1.6.22 and 1.7.3).
ctd_out="$out/containerd-${CONTAINERD_VERSION}"
ctd_pkg=github.com/containerd/containerd/v2/cmd
if [ -x "$ctd_out/containerd" ] && [ -x "$ctd_out/containerd-shim-runc-v2" ] && [ -x "$ctd_out/ctr" ]; then
  echo "k8s tools: containerd present in $ctd_out"
else
  start=$(date +%s)
  echo "k8s tools: building containerd ${CONTAINERD_VERSION} ..."
  mkdir -p "$tmp/ctd"
  (cd "$tmp" && GOFLAGS= GOBIN="$tmp/ctd" go install -trimpath \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
    "$ctd_pkg/containerd@${CONTAINERD_VERSION}" "$ctd_pkg/containerd-shim-runc-v2@${CONTAINERD_VERSION}" \
    "$ctd_pkg/ctr@${CONTAINERD_VERSION}")
  rm -rf "$ctd_out"
  mv -f "$tmp/ctd" "$ctd_out"
  echo "k8s tools: built containerd in $(( $(date +%s) - start ))s"
fi

echo "k8s tools: ready in $out"
