# The platform's one image: brigade (API server, scheduler, the built-in
# worker and git-init), brigade-worker and brig, static Go binaries on a
# small base that has git (git-init and the built-in worker clone sources
# with the git program, the checkout the local and docker substrates use).
#
#   docker build -t brigadeplatform/brigade .          # from source (needs a registry, BuildKit)
#   make image                                          # from binaries built here (no registry)
#
# Targets, in this order because the classic builder (no BuildKit), the
# only one on machines without buildx, runs every stage before the one it
# builds: `make image` uses it for prebuilt, the first. A build from source
# needs BuildKit (docker build's default since Docker 23, or buildx), which
# skips the prebuilt stage it does not need.
#   prebuilt  the binaries from the build context's bin/ on PREBUILT_BASE, a
#             base that build/image.sh assembles from this machine's git and
#             busybox and imports without any registry;
#   build     compiles the binaries (golang image);
#   image     (the default, last) alpine with git, openssh and CA
#             certificates, plus the binaries from build.
# Both runtime targets run as the non-root user 65532, keep data in
# /var/lib/brigade (BRIGADE_DATA_DIR), listen on :7745 (BRIGADE_ADDR) and
# start `brigade server` unless given another command
# (`docker run IMAGE version`).

ARG PREBUILT_BASE=brigade-local/runtime-base:latest
ARG GOLANG_IMAGE=golang:1.26-alpine
ARG ALPINE_IMAGE=alpine:3.22

FROM ${PREBUILT_BASE} AS prebuilt
COPY bin/brigade bin/brigade-worker bin/brig /usr/local/bin/
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    HOME=/home/brigade \
    BRIGADE_DATA_DIR=/var/lib/brigade \
    BRIGADE_ADDR=:7745
USER 65532:65532
WORKDIR /home/brigade
EXPOSE 7745
ENTRYPOINT ["brigade"]
CMD ["server"]

FROM ${GOLANG_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces a module with one in this tree (third_party/pprof/README.md).
COPY third_party ./third_party
RUN go mod download
COPY . .
ARG VERSION=v0.1.0-dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/ ./cmd/brigade ./cmd/brigade-worker ./cmd/brig

FROM ${ALPINE_IMAGE} AS image
RUN apk add --no-cache git openssh-client ca-certificates \
 && addgroup -g 65532 brigade \
 && adduser -D -u 65532 -G brigade -h /home/brigade brigade \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/brigade
COPY --from=build /out/brigade /out/brigade-worker /out/brig /usr/local/bin/
ENV HOME=/home/brigade \
    BRIGADE_DATA_DIR=/var/lib/brigade \
    BRIGADE_ADDR=:7745
USER 65532:65532
WORKDIR /home/brigade
EXPOSE 7745
ENTRYPOINT ["brigade"]
CMD ["server"]
