# daemon.mk — exitflowd and its C tests. Included by the top Makefile; uses
# its CC, CFLAGS, LDLIBS, BIN, OBJ and the protocol library.
#
#   make daemon          bin/exitflowd
#   make unit-daemon     the cmocka tests of the core and the shell

# The pure core: the exit rules as functions over a workflow value.
DAEMON_CORE_SRC  := daemon/blob.c daemon/workflow.c
# Encodings of the value: the view clients read, the record the store keeps.
DAEMON_CODEC_SRC := daemon/pack.c daemon/view.c daemon/record.c
# The shell: the log, who is calling and what a peer may cost, the store
# (its seals and its verifier), the write path, the command table and its
# handlers, the stall scan, the metrics; then sockets, the loop and the
# HTTP server of the metrics.
DAEMON_SHELL_SRC := daemon/log.c daemon/auth.c daemon/peers.c daemon/backlog.c \
                    daemon/seal.c daemon/verify.c daemon/store.c \
                    daemon/change.c daemon/commands.c \
                    daemon/handlers.c daemon/cmd_ops.c daemon/cmd_workflow.c \
                    daemon/cmd_member.c daemon/cmd_events.c daemon/cmd_export.c \
                    daemon/stall.c \
                    daemon/metrics.c daemon/backup.c
DAEMON_SRC       := $(DAEMON_CORE_SRC) $(DAEMON_CODEC_SRC) $(DAEMON_SHELL_SRC) \
                    daemon/http.c daemon/ready.c daemon/server.c daemon/exitflowd.c

# libmicrohttpd serves /metrics and /health: only http.c includes it, only
# exitflowd links it.
HTTP_PKG := libmicrohttpd
$(OBJ)/daemon/http.o: CFLAGS += $(shell pkg-config --cflags $(HTTP_PKG) 2>/dev/null)

# libsystemd's sd_notify tells systemd the daemon is ready (Type=notify):
# only ready.c includes it, only exitflowd links it.
READY_PKG := libsystemd
$(OBJ)/daemon/ready.o: CFLAGS += $(shell pkg-config --cflags $(READY_PKG) 2>/dev/null)

# exitflow_build_info's version label: `git describe` at build time. The
# stamp changes only when the version does, and metrics.o is rebuilt then.
DAEMON_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(OBJ)/daemon/metrics.o: CFLAGS += -DEXF_BUILD_VERSION='"$(DAEMON_VERSION)"'
$(OBJ)/daemon/metrics.o: $(OBJ)/daemon/version.stamp
$(OBJ)/daemon/version.stamp: daemon-version-check
	@mkdir -p $(dir $@)
	@echo '$(DAEMON_VERSION)' | cmp -s - $@ || echo '$(DAEMON_VERSION)' >$@
daemon-version-check:

.PHONY: daemon unit-daemon

daemon: $(BIN)/exitflowd

$(BIN)/exitflowd: $(call objs,$(DAEMON_SRC)) $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) \
	  $(shell pkg-config --libs $(HTTP_PKG) $(READY_PKG) 2>/dev/null) -lpthread

# A test file per module (tests/daemon/). The core's tests link the core and
# its encodings; the shell's run on a real LMDB in a temp dir, no sockets.
DAEMON_UNIT_TESTS := $(BIN)/test_workflow $(BIN)/test_view $(BIN)/test_record \
                     $(BIN)/test_store $(BIN)/test_commands $(BIN)/test_auth \
                     $(BIN)/test_log $(BIN)/test_metrics

DAEMON_TEST_CORE  := $(call objs,$(DAEMON_CORE_SRC) $(DAEMON_CODEC_SRC))
DAEMON_TEST_SHELL := $(DAEMON_TEST_CORE) $(call objs,$(DAEMON_SHELL_SRC))
DAEMON_TEST_HDRS  := tests/support/msgpack_builder.h \
                     tests/daemon/map_reader.h tests/daemon/workflow_fixture.h \
                     tests/daemon/store_fixture.h tests/daemon/format2_record.h

$(BIN)/test_workflow $(BIN)/test_view $(BIN)/test_record: \
    $(BIN)/test_%: tests/daemon/test_%.c $(DAEMON_TEST_HDRS) \
    $(DAEMON_TEST_CORE) $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(filter-out %.h,$^) -o $@ $(LDLIBS) -lcmocka

$(BIN)/test_store $(BIN)/test_commands $(BIN)/test_auth $(BIN)/test_log \
$(BIN)/test_metrics: \
    $(BIN)/test_%: tests/daemon/test_%.c $(DAEMON_TEST_HDRS) \
    $(DAEMON_TEST_SHELL) $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(filter-out %.h,$^) -o $@ $(LDLIBS) -lcmocka

unit-daemon: $(DAEMON_UNIT_TESTS)
	@for t in $^; do echo "== $$t"; $$t || exit 1; done
