# workers — the DQ worker and the notifier (issue: workers). Included by the
# top Makefile (`-include workers/workers.mk`); uses its CC, CFLAGS, LDLIBS,
# BIN, OBJ, PYTHON, the `objs` macro, and clients.mk's library and CLI
# variables.
#
#   make workers          bin/exitflow-dq, bin/exitflow-notify
#   make unit-workers     the cmocka tests: DQ rules, summary, sinks, config
#   make test-workers     those, then tests/workers (a real daemon, real
#                         worker processes, local HTTP and SMTP servers)
#   make asan-workers     the same on ASan/UBSan builds, in bin-asan/

# Debian packages the workers need on top of DEB_BUILD / DEB_TEST
# (libjansson-dev is DEB_CLIENTS' too).
DEB_WORKERS := libcurl4-openssl-dev libjansson-dev

CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   := $(or $(shell pkg-config --libs libcurl 2>/dev/null),-lcurl)
# The workers use czmq (zconfig), libzmq and msgpack-c; not LMDB.
WORKER_LDLIBS := $(shell pkg-config --libs libczmq libzmq msgpack 2>/dev/null)
LIBEXITFLOW := $(BIN)/libexitflow.a

# JSON is written with jansson (JANSSON_CFLAGS / JANSSON_LIBS: clients.mk).
$(OBJ)/workers/%.o: CFLAGS += $(CURL_CFLAGS) $(JANSSON_CFLAGS)

# The pure parts (unit-tested without sockets).
DQ_CORE_SRC := workers/dq_fields.c workers/dq_snapshot.c workers/dq_rules.c \
               $(PROTOCOL_SRC)
NOTIFY_CORE_SRC := workers/json.c workers/notification.c workers/sink.c \
                   workers/sink_file.c workers/sink_http.c workers/sink_smtp.c \
                   workers/sent_log.c workers/config.c workers/wlog.c \
                   $(PROTOCOL_SRC)

# The programs; codec.o comes with libexitflow.a.
DQ_WORKER_SRC := workers/exitflow_dq.c workers/consumer.c workers/config.c \
                 workers/wlog.c $(filter-out $(PROTOCOL_SRC),$(DQ_CORE_SRC)) $(PROTOCOL_LIB)
NOTIFY_WORKER_SRC := workers/exitflow_notify.c workers/consumer.c \
                     $(filter-out $(PROTOCOL_SRC),$(NOTIFY_CORE_SRC)) $(PROTOCOL_LIB)

.PHONY: workers unit-workers integration-workers test-workers asan-workers \
        deps-workers

workers: $(BIN)/exitflow-dq $(BIN)/exitflow-notify

$(BIN)/exitflow-dq: $(call objs,$(DQ_WORKER_SRC)) $(LIBEXITFLOW)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(WORKER_LDLIBS)

$(BIN)/exitflow-notify: $(call objs,$(NOTIFY_WORKER_SRC)) $(LIBEXITFLOW)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(WORKER_LDLIBS) $(CURL_LIBS) $(JANSSON_LIBS)

# ---- unit tests (cmocka) ----

WORKERS_UNIT_TESTS := $(BIN)/test_dq_rules $(BIN)/test_dq_summary $(BIN)/test_notify

$(BIN)/test_dq_rules: tests/workers/test_dq_rules.c tests/support/msgpack_builder.h \
    $(call objs,$(DQ_CORE_SRC))
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(filter-out %.h,$^) -o $@ $(LDLIBS) -lcmocka

$(BIN)/test_dq_summary: tests/workers/test_dq_summary.c \
    $(call objs,workers/dq_summary.c workers/json.c $(DQ_CORE_SRC))
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(JANSSON_CFLAGS) $^ -o $@ $(LDLIBS) $(JANSSON_LIBS) -lcmocka

$(BIN)/test_notify: tests/workers/test_notify.c $(call objs,$(NOTIFY_CORE_SRC))
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(JANSSON_CFLAGS) $^ -o $@ $(LDLIBS) $(CURL_LIBS) $(JANSSON_LIBS) \
	  -lcmocka -lpthread

unit-workers: $(WORKERS_UNIT_TESTS)
	@for t in $(WORKERS_UNIT_TESTS); do echo "== $$t"; $$t || exit 1; done

# ---- integration tests ----

WORKERS_TEST_ENV = EXITFLOWD=$(abspath $(BIN))/exitflowd \
    EXITFLOW_DQ=$(abspath $(BIN))/exitflow-dq \
    EXITFLOW_NOTIFY=$(abspath $(BIN))/exitflow-notify \
    EXITFLOW_CLI=$(abspath $(BIN))/exitflow

integration-workers: $(BIN)/exitflowd $(BIN)/exitflow workers
	$(WORKERS_TEST_ENV) $(PYTHON) -m pytest -q tests/workers

WORKERS_MAKE = $(MAKE) --no-print-directory

deps-workers: deps-test

test-workers: deps-workers
	@$(WORKERS_MAKE) unit-workers integration-workers

# The same tests on ASan/UBSan builds of the daemon, the library and the
# workers (a leak or a UB report fails the worker's exit status, and the
# tests check that status).
ASAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan-workers: deps-workers
	@$(WORKERS_MAKE) BIN=bin-asan OBJ=build-asan SAN="$(ASAN_FLAGS)" \
	  unit-workers integration-workers
