# daemon.mk — exitflowd and its C tests. Included by the top Makefile; uses
# its CC, CFLAGS, LDLIBS, BIN, OBJ and the protocol library.
#
#   make daemon          bin/exitflowd
#   make unit-daemon     the cmocka tests of the core and the shell

# The pure core: the exit rules as functions over a workflow value.
DAEMON_CORE_SRC  := daemon/blob.c daemon/workflow.c
# The shell: LMDB store, command table and handlers, sockets and loop.
DAEMON_SHELL_SRC := daemon/pack.c daemon/view.c daemon/record.c daemon/store.c \
                    daemon/commands.c daemon/server.c
DAEMON_SRC       := $(DAEMON_CORE_SRC) $(DAEMON_SHELL_SRC) daemon/exitflowd.c

.PHONY: daemon unit-daemon

daemon: $(BIN)/exitflowd

$(BIN)/exitflowd: $(call objs,$(DAEMON_SRC)) $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

DAEMON_UNIT_TESTS := $(BIN)/test_workflow

$(BIN)/test_workflow: tests/daemon/test_workflow.c tests/support/msgpack_builder.h \
    $(call objs,$(DAEMON_CORE_SRC) daemon/pack.c daemon/view.c daemon/record.c) \
    $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(filter-out %.h,$^) -o $@ $(LDLIBS) -lcmocka

unit-daemon: $(DAEMON_UNIT_TESTS)
	@for t in $^; do echo "== $$t"; $$t || exit 1; done
