# sigtrace: the two commands a new user needs are `make run` and `make test`.
GO      ?= go
CLANG   ?= clang-19
STRIP   ?= llvm-strip-19
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN     := bin/sigtrace
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system

.PHONY: all build install run test test-unit test-integration generate check-generated test-kernels bench clean

all: build

# Without cgo: trace drops its privileges on every thread once attached,
# which the Go runtime can do only in a binary that does not link cgo
# (pflag's import of net links it wherever a C compiler is found).
export CGO_ENABLED := 0

build:
	$(GO) build -trimpath -buildvcs=auto -o $(BIN) ./cmd/sigtrace

# Installs the binary and the always-on recording unit (DESTDIR and PREFIX
# as usual; systemd looks in /usr/local/lib/systemd/system too). The unit's
# ExecStart is pointed at where the binary goes. Then:
#   systemctl daemon-reload && systemctl enable --now sigtrace-record
install: build
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)"
	install -m 0755 $(BIN) "$(DESTDIR)$(BINDIR)/sigtrace"
	sed 's#/usr/local/bin/sigtrace#$(BINDIR)/sigtrace#g' contrib/sigtrace-record.service >"$(DESTDIR)$(UNITDIR)/.sigtrace-record.service.tmp"
	chmod 0644 "$(DESTDIR)$(UNITDIR)/.sigtrace-record.service.tmp"
	mv "$(DESTDIR)$(UNITDIR)/.sigtrace-record.service.tmp" "$(DESTDIR)$(UNITDIR)/sigtrace-record.service"

# Builds and starts the live tracer (with sudo when not root).
run: build
	$(SUDO) ./$(BIN) trace $(ARGS)

# Every test: go vet and staticcheck (a tool in go.mod: `go tool` fetches and
# builds the pinned version, nothing else to install), unit tests, then the
# privileged integration tests that load the real BPF programs (as root; with
# CI=true none of them may skip), and a check that the committed BPF objects
# match their C sources when clang is present.
# -p 1: one package's tests at a time. They share one kernel, whose BPF
# programs see every process's signals: a storm in one package (the
# recorder's 60 s budget run) starved another's readers into timeouts,
# as the kernel matrix's guests, which run them one by one, never do.
test: check-generated
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(SUDO) env "PATH=$$PATH" CI="$(CI)" CGO_ENABLED=0 $(GO) test -p 1 -count=1 ./...

# Rebuilds the committed BPF objects and their Go bindings (needs clang-19).
generate:
	./scripts/generate.sh $(CLANG) $(STRIP)

# Regenerates into a scratch copy and compares, so a C change without
# `make generate` fails the build. Skipped (with a note) without clang.
check-generated:
	@if command -v $(CLANG) >/dev/null 2>&1; then \
		./scripts/check-generated.sh $(CLANG) $(STRIP); \
	else \
		echo "note: $(CLANG) not installed; not checking that BPF objects are fresh"; \
	fi

# The integration suite inside 5.10, 6.1, 6.12 and arm64 guests (qemu TCG).
test-kernels:
	./kernels/test-kernels.sh

bench:
	./bench/run.sh

clean:
	rm -rf bin
