#!/usr/bin/env bash
# Builds the image without any registry (the Dockerfile's "prebuilt"
# target): static binaries built here, on a base assembled from this
# machine's git, ssh and busybox-static (Debian packages) and CA
# certificates, imported into dockerd. `make image` runs it.
#
#   IMAGE           the tag to build (default brigade-local/brigade:dev)
#   VERSION         the version the binaries report (default: git describe)
#
# It prints the tag on its last line. Needs docker (a running daemon), go,
# git and busybox-static (internal/substrate/docker/testdata/setup.sh
# installs the last).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
IMAGE="${IMAGE:-brigade-local/brigade:dev}"
VERSION="${VERSION:-$(git -C "$repo" describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)}"
COMMIT="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"

say() { echo "image: $*" >&2; }
for tool in docker go git ldd; do
  command -v "$tool" >/dev/null || { say "$tool is not installed"; exit 1; }
done
[ -x /bin/busybox ] || { say "/bin/busybox is missing: apt-get install busybox-static"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. The binaries, static, into the build context's bin/.
say "building the binaries ($VERSION)"
mkdir -p "$work/ctx/bin"
(cd "$repo" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" \
  -o "$work/ctx/bin/" ./cmd/brigade ./cmd/brigade-worker ./cmd/brig)

# 2. The base: busybox (git's shell scripts need sh, sed and friends),
# git with its helpers and ssh, the shared libraries they load, the CA
# certificates, a non-root user 65532 and its folders. Its tag names a
# hash of what went in, so an unchanged base is not imported again.
root="$work/root"
mkdir -p "$root"/{bin,etc/ssl/certs,tmp,usr/bin,usr/lib,usr/share,home/brigade,var/lib/brigade,proc,sys,dev}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cp -a "$(command -v git)" "$root/usr/bin/git"
cp -a /usr/lib/git-core "$root/usr/lib/git-core"
[ -d /usr/share/git-core ] && cp -a /usr/share/git-core "$root/usr/share/git-core"
if command -v ssh >/dev/null; then cp -a "$(command -v ssh)" "$root/usr/bin/ssh"; fi
# Every shared library an ELF file of git or ssh loads, at the same path.
# (ldd fails on git's shell scripts, which need no library.)
{ find "$root/usr/bin" "$root/usr/lib/git-core" -type f -perm -u+x -print0 |
  xargs -0 -n1 ldd 2>/dev/null || true; } | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | sort -u |
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nbrigade:x:65532:65532:brigade:/home/brigade:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nbrigade:x:65532:\nnogroup:x:65534:\n' >"$root/etc/group"
chown 65532:65532 "$root/home/brigade" "$root/var/lib/brigade"
chmod 0750 "$root/var/lib/brigade"
sum="$(tar -C "$root" --sort=name --mtime=@0 --numeric-owner -cf - . | sha256sum | cut -c1-12)"
base="brigade-local/runtime-base:$sum"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  say "importing the base $base"
  tar -C "$root" --numeric-owner -cf - . |
    docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$base" >/dev/null
fi

# 3. The image: the Dockerfile's prebuilt target on that base.
say "building $IMAGE"
# The classic builder: no buildx plugin here, and FROM an image that is
# only on this daemon. Its deprecation notice is shown only with a failure.
if ! out="$(DOCKER_BUILDKIT=0 docker build -q -f "$repo/Dockerfile" --target prebuilt \
  --build-arg "PREBUILT_BASE=$base" -t "$IMAGE" "$work/ctx" 2>&1)"; then
  say "docker build failed:"
  echo "$out" >&2
  exit 1
fi
docker run --rm --entrypoint git "$IMAGE" --version >/dev/null ||
  { say "git does not run in $IMAGE"; exit 1; }
say "built $IMAGE"
echo "$IMAGE"
