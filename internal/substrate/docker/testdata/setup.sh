#!/usr/bin/env bash
# Prepares this machine for the docker substrate's tests (CI runs it from
# .ci/run; run it by hand as root to do the same locally). Idempotent:
#
#   1. installs docker.io and busybox-static (Debian packages) if missing;
#   2. starts dockerd in the background unless a daemon already answers
#      (no iptables, no default bridge: jobs get --network none here; the
#      log is $BRIGADE_DOCKERD_LOG, default /var/log/brigade-dockerd.log);
#   3. builds the test image without any registry: a rootfs holding
#      busybox and a symlink per applet, imported as $BRIGADE_TEST_IMAGE
#      (default brigade-test/busybox:latest);
#   4. builds the worker images of examples/custom-worker-shell and
#      examples/custom-worker-steps FROM it (brigade-test/custom-worker-shell
#      and brigade-test/custom-worker-steps), so that those projects run as
#      they are (their tests build them again, from the files they test).
set -euo pipefail

IMAGE="${BRIGADE_TEST_IMAGE:-brigade-test/busybox:latest}"
LOG="${BRIGADE_DOCKERD_LOG:-/var/log/brigade-dockerd.log}"

say() { echo "docker setup: $*"; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1 || ! [ -x /bin/busybox ] ||
  ! /bin/busybox --list >/dev/null 2>&1 || ! dpkg -s busybox-static >/dev/null 2>&1; then
  say "installing docker.io and busybox-static"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io busybox-static >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $LOG)"
  mkdir -p "$(dirname "$LOG")"
  nohup dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs >>"$LOG" 2>&1 &
  for _ in $(seq 1 360); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not answer within 180 s; the end of its log:" >&2
    tail -n 30 "$LOG" >&2 || true
    exit 1
  fi
fi
say "daemon $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

build_worker_images() {
  local examples dir name out
  examples="$(cd "$(dirname "$0")/../../../../examples" && pwd)"
  for dir in "$examples"/custom-worker-*/; do
    name="brigade-test/$(basename "$dir"):latest"
    # The classic builder: no buildx plugin, and FROM an image that is only
    # on this daemon. Its deprecation notice is shown only with a failure.
    if ! out="$(DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$IMAGE" -t "$name" "$dir" 2>&1)"; then
      say "building $name from $dir failed:" >&2
      echo "$out" >&2
      exit 1
    fi
    say "image $name built from $dir"
  done
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "image $IMAGE is present"
  build_worker_images
  exit 0
fi

say "building $IMAGE from /bin/busybox"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/usr/bin"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
for t in sh echo sleep cat ls printf seq env pwd test true false; do
  [ -e "$root/bin/$t" ] || { say "busybox lacks the applet $t" >&2; exit 1; }
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar -C "$root" --numeric-owner -cf - . |
  docker import --change 'ENV PATH=/bin:/usr/bin' --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
say "image $IMAGE imported"
build_worker_images
