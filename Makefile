# The one command that runs every test: `make test`.
.PHONY: test build vet fuzz bench-intake soak image

GO ?= go

test: test/jssdk/node_modules
	$(GO) vet ./...
	# A race-built binary sleeps 1 s at a clean exit (atexit_sleep_ms) to let
	# other goroutines report; tests start such binaries as workers and brig
	# processes by the hundred. A race found is still reported and fails.
	# internal/server alone runs about 10 minutes under -race on a busy 2-core
	# machine: go test's default 10-minute limit would fail it there.
	GORACE=atexit_sleep_ms=0 $(GO) test -race -count=1 -timeout 30m ./...
	# With a PostgreSQL database to test on (CI sets it), the server's
	# end-to-end API and execution tests run again on PostgreSQL.
	if [ -n "$$BRIGADE_TEST_POSTGRES_URL" ]; then \
		BRIGADE_TEST_SERVER_DATABASE=postgres GORACE=atexit_sleep_ms=0 $(GO) test -race -count=1 -timeout 30m ./internal/server/...; \
	fi

# The official Brigade JS SDK, pinned in test/jssdk/package-lock.json.
test/jssdk/node_modules: test/jssdk/package.json test/jssdk/package-lock.json
	cd test/jssdk && npm ci --no-audit --no-fund
	touch $@

# Static binaries (no cgo: the pure-Go DNS resolver and user lookup). Every
# event starts the brigade binary anew as its worker, and a cgo binary pays
# the dynamic loader and libc on every start (about 2 ms on a 2-core machine).
build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

# The image (Dockerfile) from binaries built here, without any registry:
# the Dockerfile's prebuilt target on a base made from this machine's git
# and busybox (build/image.sh). IMAGE=name:tag to choose the tag.
image:
	bash build/image.sh

# Every fuzz target for a bounded time (FUZZTIME=60s for longer), as CI does.
FUZZTIME ?= 12s
fuzz:
	FUZZTIME=$(FUZZTIME) bash .ci/fuzz

bench-intake:
	$(GO) run ./bench/intake -n 5000 -c 32

# The soak (docs/reliability.md, "Soak"), not part of `make test`: the real
# server held at SOAK_RATE events/s for SOAK_DURATION; it prints its figures
# and writes soak.csv, soak.png and figures.txt into BRIGADE_CI_ARTIFACTS
# (default /tmp/brigade-artifacts). It fails if an event is lost or an answer
# is an error, or if memory, goroutines or open files grow.
SOAK_RATE ?= 20
SOAK_DURATION ?= 60s
soak:
	$(GO) run ./bench/soak -rate $(SOAK_RATE) -duration $(SOAK_DURATION)
