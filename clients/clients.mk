# clients.mk — libexitflow (static, shared, pkg-config), the exitflow CLI and
# their tests. Included by the top Makefile; uses its CC, CFLAGS, BIN, OBJ,
# PYTHON, PROTOCOL_SRC and objs.
#
#   make clients         bin/exitflow, bin/libexitflow.{a,so,pc}
#   make test-clients    the C library tests and the CLI tests, each against
#                        a real exitflowd on free ports
#   make install-clients header, libraries, pkg-config file and CLI under
#                        $(DESTDIR)$(PREFIX)

.PHONY: clients test-clients test-libexitflow test-cli test-pkgconfig install-clients asan-clients

# Debian packages the clients need on top of DEB_BUILD / DEB_TEST.
DEB_CLIENTS := libjansson-dev

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
LIBEXITFLOW_VERSION := 1.0.0
LIBEXITFLOW_SONAME  := libexitflow.so.1

# The library needs libzmq and msgpack-c only (not czmq or LMDB), so its
# link line is its own rather than the daemon's LDLIBS.
CLIENT_LDLIBS  := $(shell pkg-config --libs libzmq msgpack 2>/dev/null)
JANSSON_CFLAGS := $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS   := $(or $(shell pkg-config --libs jansson 2>/dev/null),-ljansson)

LIBEXITFLOW_SRC := clients/client.c clients/reply.c clients/event.c \
                   clients/subscriber.c
# The CLI links its own objects, the client library and the protocol
# library (HUD labels, command names) — no other program's folder:
# `dq-report` runs `exitflow-dq report`, the DQ worker's report mode
# (clients/cli/dq_report.c).
CLI_SRC := clients/cli/exitflow.c clients/cli/args.c clients/cli/json.c \
           clients/cli/format.c clients/cli/show.c clients/cli/caseworker.c \
           clients/cli/ops.c clients/cli/demo.c clients/cli/dq_report.c
LIB_HDRS := clients/exitflow.h clients/internal.h
CLI_HDRS := clients/exitflow.h clients/cli/cli.h

$(call objs,$(LIBEXITFLOW_SRC)) $(call picobjs,$(LIBEXITFLOW_SRC)): $(LIB_HDRS)
$(call objs,$(CLI_SRC)): $(CLI_HDRS)
$(call objs,$(CLI_SRC)): CFLAGS += $(JANSSON_CFLAGS)

clients: $(BIN)/exitflow $(BIN)/libexitflow.a $(BIN)/libexitflow.so $(BIN)/libexitflow.pc

$(BIN)/libexitflow.a: $(call objs,$(PROTOCOL_SRC) $(LIBEXITFLOW_SRC))
	@mkdir -p $(BIN)
	rm -f $@
	ar rcs $@ $^

# A sanitized shared library leaves the sanitizer runtime to the program,
# so --no-undefined only holds for a plain build.
$(BIN)/$(LIBEXITFLOW_SONAME): $(call picobjs,$(PROTOCOL_SRC) $(LIBEXITFLOW_SRC))
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(LIBEXITFLOW_SONAME) \
	  $(if $(SAN),,-Wl,--no-undefined) $^ -o $@ $(CLIENT_LDLIBS)

$(BIN)/libexitflow.so: $(BIN)/$(LIBEXITFLOW_SONAME)
	ln -sf $(LIBEXITFLOW_SONAME) $@

# Paths under the prefix are written relative to ${prefix}, so the file
# still works when the tree is moved (or a prefix is defined by hand).
PC_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|' \
	-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	-e 's|@VERSION@|$(LIBEXITFLOW_VERSION)|'

$(BIN)/libexitflow.pc: clients/libexitflow.pc.in clients/clients.mk
	@mkdir -p $(BIN)
	$(PC_SUBST) $< > $@

$(BIN)/exitflow: $(call objs,$(CLI_SRC)) $(BIN)/libexitflow.a
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(JANSSON_LIBS) $(CLIENT_LDLIBS)

# ---- tests ----

# Linked against the shared library (found beside it through the rpath),
# so the exported surface is what the tests exercise.
$(BIN)/test_libexitflow: tests/clients/test_libexitflow.c $(BIN)/libexitflow.so clients/exitflow.h
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -Iclients $< -o $@ -L$(BIN) -lexitflow -Wl,-rpath,'$$ORIGIN' \
	  $(CLIENT_LDLIBS) -lcmocka -lpthread

CLIENT_TEST_ENV = EXITFLOWD=$(abspath $(BIN))/exitflowd EXITFLOW_CLI=$(abspath $(BIN))/exitflow

test-libexitflow: $(BIN)/test_libexitflow $(BIN)/exitflowd
	$(CLIENT_TEST_ENV) $(BIN)/test_libexitflow

test-cli: $(BIN)/exitflow $(BIN)/exitflowd
	$(CLIENT_TEST_ENV) $(PYTHON) -m pytest -q tests/clients

# The installed header and pkg-config file are enough to build a program:
# install into a scratch prefix, build a program from the .pc file alone.
PC_STAGE = $(abspath $(OBJ))/pc-stage
test-pkgconfig: clients
	rm -rf $(PC_STAGE)
	$(MAKE) --no-print-directory install-clients PREFIX=$(PC_STAGE) LIBDIR=$(PC_STAGE)/lib \
	  INCLUDEDIR=$(PC_STAGE)/include DESTDIR=
	$(CC) $(CFLAGS) tests/clients/pkgconfig_smoke.c -o $(PC_STAGE)/smoke \
	  $$(PKG_CONFIG_PATH=$(PC_STAGE)/lib/pkgconfig pkg-config --cflags --libs libexitflow) \
	  -Wl,-rpath,$(PC_STAGE)/lib
	$(PC_STAGE)/smoke

test-clients: clients $(BIN)/exitflowd
	@$(MAKE) --no-print-directory test-libexitflow test-cli test-pkgconfig

install-clients: clients
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 clients/exitflow.h $(DESTDIR)$(INCLUDEDIR)/exitflow.h
	install -m 644 $(BIN)/libexitflow.a $(DESTDIR)$(LIBDIR)/libexitflow.a
	install -m 755 $(BIN)/$(LIBEXITFLOW_SONAME) $(DESTDIR)$(LIBDIR)/$(LIBEXITFLOW_SONAME)
	ln -sf $(LIBEXITFLOW_SONAME) $(DESTDIR)$(LIBDIR)/libexitflow.so
	$(PC_SUBST) clients/libexitflow.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libexitflow.pc
	install -m 755 $(BIN)/exitflow $(DESTDIR)$(PREFIX)/bin/exitflow

# The same tests on ASan/UBSan builds of the daemon, the library and the CLI.
asan-clients: deps-test
	@$(MAKE) --no-print-directory BIN=bin-asan OBJ=build-asan \
	  SAN="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  test-clients
