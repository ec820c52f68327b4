# exitflow — build, run, test.
#   make          build everything into bin/
#   make run      install what is missing, build, start the daemon and both
#                 workers on ./var/: configuration ./var/exitflow.cfg
#                 (written from deploy/exitflow.cfg once, kept), CURVE keys
#                 in ./var/keys (made once, kept)
#   make test     install what tests need, build, run every test
#   make bench    the benchmark (not a test)
#   make asan     build with AddressSanitizer/UBSan into bin-asan/ and run the tests on it
#   make install  PREFIX=/usr/local DESTDIR=: programs, library, man pages,
#                 config, systemd units (deploy/deploy.mk)
#   make deb      exitflow_VERSION_amd64.deb (deploy/deploy.mk)

CC      ?= gcc
PKGS    := libczmq libzmq lmdb msgpack
WARN    := -Wall -Wextra -Werror
CFLAGS  ?= -O2 -g
SAN     ?=
CFLAGS  += -std=gnu11 $(WARN) $(SAN) -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null)
BIN     ?= bin
OBJ     ?= build
PYTHON  := /usr/bin/python3

# Debian packages: what building, running and testing need. tzdata: the
# CoC's time zone (--timezone) is looked up in its zoneinfo. prometheus:
# its promtool checks deploy/prometheus/ (the package's own service is
# not needed; where a service manager runs, it starts on :9090).
DEB_BUILD := gcc make pkg-config libzmq3-dev libczmq-dev liblmdb-dev libmsgpack-dev \
             libmicrohttpd-dev libsystemd-dev
DEB_RUN   := tzdata
DEB_TEST  := libcmocka-dev python3-zmq python3-msgpack python3-pytest lmdb-utils \
             python3-prometheus-client prometheus \
             python3-lmdb clang libclang-rt-14-dev \
             lintian help2man dpkg-dev systemd
# The pages' browser tests (tests/web/test_browser.py): headless chromium
# driven by selenium.
DEB_TEST  += chromium chromium-driver python3-selenium

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))
# Position-independent objects for shared libraries, every symbol hidden
# unless exported on purpose.
picobjs = $(patsubst %.c,$(OBJ)/pic/%.o,$(1))

.PHONY: all run test unit integration bench bench-quick asan deps deps-test clean layering

all: protocol daemon clients workers web $(BIN)/exitflow-bench

$(OBJ)/%.o: %.c $(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(OBJ)/pic/%.o: %.c $(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

# ---- dependencies: install only what is missing ----
# One `apt-get update` at most per make invocation, and only when a package
# of the list is missing.
install_missing = @missing=$$(for p in $(sort $(1)); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

deps:
	$(call install_missing,$(DEB_BUILD) $(DEB_RUN) $(DEB_CLIENTS) $(DEB_WORKERS))

deps-test:
	$(call install_missing,$(DEB_BUILD) $(DEB_RUN) $(DEB_CLIENTS) $(DEB_WORKERS) $(DEB_TEST))

# ---- the main job ----
run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	@echo "config:    ./var/exitflow.cfg, read by all three (written from deploy/exitflow.cfg on the"
	@echo "           first run, then yours: never overwritten; its comments say what each key does)"
	@echo "exitflowd: as configured: commands tcp://127.0.0.1:5570, events tcp://127.0.0.1:5571, data ./var/exitflow"
	@echo "metrics:   http://127.0.0.1:5572/metrics and /health (loopback; EXITFLOW_HTTP=ADDR:PORT to move)"
	@echo "workers:   exitflow-dq, exitflow-notify (as configured: notifications in ./var/notifications.jsonl,"
	@echo "           addressed to the caseworker and notify/ops)"
	@echo "keys:      ./var/keys (made on the first run, kept; CURVE is on: the CLI here uses admin_secret)"
	@echo "web:       http://127.0.0.1:8080/ (exitflow-web; accounts caseworker and ops, their passwords"
	@echo "           printed once when made: ./var/web-users; exitflow-web passwd NAME to change one)"
	@echo "try, in another terminal:"
	@echo "    bin/exitflow demo                          # a three-member household exits end to end"
	@echo "    bin/exitflow list --state open --idle 1s   # exits idle for a second or more"
	@echo "    bin/exitflow show ID                       # one workflow, step by step"
	@echo "    bin/exitflow events tail                   # every event, live (Ctrl-C to stop)"
	@echo "    bin/exitflow consumers                     # the workers' offsets and lag"
	@echo "stop with Ctrl-C"
	exec workers/run.sh

# ---- tests ----
unit: unit-protocol unit-daemon

integration: all
	$(PYTHON) -m pytest -q tests/integration

test: deps-test
	@$(MAKE) --no-print-directory layering
	@$(MAKE) --no-print-directory all unit bench-quick
	$(PYTHON) -m pytest -q tests/integration
	@$(MAKE) --no-print-directory test-clients test-workers test-web
	@$(MAKE) --no-print-directory fuzz-quick crash-quick
	@$(MAKE) --no-print-directory test-deploy

bench-quick: all
	tests/bench/run.sh --quick

bench: deps
	@$(MAKE) --no-print-directory all
	tests/bench/run.sh

# Sanitizer build: the same tests on an ASan/UBSan daemon.
asan: deps-test
	@$(MAKE) --no-print-directory BIN=bin-asan OBJ=build-asan \
	  SAN="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  daemon unit
	EXITFLOWD=$(CURDIR)/bin-asan/exitflowd $(PYTHON) -m pytest -q tests/integration
	@$(MAKE) --no-print-directory asan-clients asan-workers asan-web

clean:
	rm -rf bin bin-asan build build-asan

# Each part keeps its rules (and its tests' rules) beside its code.
include protocol/protocol.mk
include daemon/daemon.mk
include clients/clients.mk
include clients/web/web.mk
include workers/workers.mk
include tests/tests.mk
include deploy/deploy.mk
