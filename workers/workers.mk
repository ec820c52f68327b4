# workers.mk — the DQ worker and the notifier. Included by the top Makefile;
# uses its CC, CFLAGS, LDLIBS, BIN, OBJ, PYTHON, the `objs` macro,
# protocol.mk's PROTOCOL_LIB and clients.mk's JANSSON_* and libexitflow.a.
#
#   make workers          bin/exitflow-dq, bin/exitflow-notify
#   make unit-workers     the cmocka tests: DQ rules, summary, sinks, config
#   make test-workers     those, then tests/workers (a real daemon, real
#                         worker processes, local HTTP and SMTP servers)
#   make asan-workers     the same on ASan/UBSan builds, in bin-asan/
#
# Each program links its own folder's objects, the workers' common library
# (the consumer loop, settings, log, JSON helpers, stopping), libexitflow.a
# (the client library) and the protocol library, by name; the protocol
# library comes last because libexitflow.a exports only exitflow_* names.

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

WORKER_COMMON_SRC := workers/common/consumer.c workers/common/config.c \
                     workers/common/stop.c workers/common/wjson.c \
                     workers/common/wlog.c
WORKER_COMMON_LIB := $(OBJ)/workers/libexitflow-worker.a

# Each program's own modules. The DQ core is pure (unit-tested without
# sockets); dq_report.c is the `exitflow-dq report` mode.
DQ_CORE_SRC := workers/dq/dq_fields.c workers/dq/dq_snapshot.c \
               workers/dq/dq_rules.c workers/dq/dq_summary.c
DQ_SRC := $(DQ_CORE_SRC) workers/dq/dq_report.c
NOTIFY_SRC := workers/notify/notification.c workers/notify/sink.c \
              workers/notify/sink_file.c workers/notify/sink_http.c \
              workers/notify/sink_smtp.c workers/notify/sent_log.c

# What a worker program links after its own objects, in this order.
WORKER_LIBS := $(WORKER_COMMON_LIB) $(LIBEXITFLOW) $(PROTOCOL_LIB)

.PHONY: workers unit-workers integration-workers test-workers asan-workers \
        deps-workers

workers: $(BIN)/exitflow-dq $(BIN)/exitflow-notify

$(WORKER_COMMON_LIB): $(call objs,$(WORKER_COMMON_SRC))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN)/exitflow-dq: $(call objs,workers/dq/exitflow_dq.c $(DQ_SRC)) $(WORKER_LIBS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(WORKER_LDLIBS) $(JANSSON_LIBS)

$(BIN)/exitflow-notify: $(call objs,workers/notify/exitflow_notify.c $(NOTIFY_SRC)) \
    $(WORKER_LIBS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(WORKER_LDLIBS) $(CURL_LIBS) $(JANSSON_LIBS)

# ---- unit tests (cmocka) ----

WORKERS_UNIT_TESTS := $(BIN)/test_dq_rules $(BIN)/test_dq_summary \
                      $(BIN)/test_notify $(BIN)/test_worker_common

$(BIN)/test_dq_rules: tests/workers/test_dq_rules.c tests/support/msgpack_builder.h \
    $(call objs,$(DQ_CORE_SRC)) $(WORKER_LIBS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(filter-out %.h,$^) -o $@ $(WORKER_LDLIBS) $(JANSSON_LIBS) -lcmocka

$(BIN)/test_dq_summary: tests/workers/test_dq_summary.c $(call objs,$(DQ_CORE_SRC)) \
    $(WORKER_LIBS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(JANSSON_CFLAGS) $^ -o $@ $(WORKER_LDLIBS) $(JANSSON_LIBS) -lcmocka

$(BIN)/test_notify: tests/workers/test_notify.c $(call objs,$(NOTIFY_SRC)) \
    $(WORKER_LIBS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(JANSSON_CFLAGS) $^ -o $@ $(WORKER_LDLIBS) $(CURL_LIBS) \
	  $(JANSSON_LIBS) -lcmocka -lpthread

$(BIN)/test_worker_common: tests/workers/test_worker_common.c $(WORKER_LIBS)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(JANSSON_CFLAGS) $^ -o $@ $(WORKER_LDLIBS) $(JANSSON_LIBS) \
	  -lcmocka

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
