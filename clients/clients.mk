# clients.mk — libexitflow (static, shared, pkg-config), the exitflow CLI and
# their tests. Included by the top Makefile; uses its CC, CFLAGS, BIN, OBJ,
# PYTHON, PROTOCOL_LIB, PROTOCOL_PIC_LIB, objs and picobjs.
#
#   make clients         bin/exitflow, bin/libexitflow.{a,so,pc}
#   make test-clients    the symbol check (only exitflow_* exported), the C
#                        library tests and the CLI tests (each against a
#                        real exitflowd on free ports, the CLI's with the DQ
#                        worker beside it), the CURVE tests
#                        (against a CURVE server made in the test), the
#                        pkg-config build
#   make install-clients header, libraries, pkg-config file and CLI under
#                        $(DESTDIR)$(PREFIX)

.PHONY: clients test-clients test-symbols test-libexitflow test-curve test-cli \
        test-pkgconfig install-clients asan-clients

# Debian packages the clients need on top of DEB_BUILD / DEB_TEST.
DEB_CLIENTS := libjansson-dev

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
# 2: exitflow_options_t grew (cert, server_key), so programs built against
# 1.x must be rebuilt. 3: exitflow_member_t (birth_date) and
# exitflow_household_t (move_in_date) grew, and a member array's stride
# with them, so programs built against 2.x must be rebuilt; new call
# exitflow_hud_codes. 3.1: new calls exitflow_export (nothing changed size)
# and exitflow_client_set_actor (the web gateway names each request's
# caseworker).
LIBEXITFLOW_VERSION := 3.1.0
LIBEXITFLOW_SONAME  := libexitflow.so.3

# The library needs libzmq, msgpack-c and czmq (its ZPL reader: the key
# files are czmq certificates), not LMDB, so its link line is its own
# rather than the daemon's LDLIBS.
CLIENT_LDLIBS  := $(shell pkg-config --libs libczmq libzmq msgpack 2>/dev/null)
JANSSON_CFLAGS := $(shell pkg-config --cflags jansson 2>/dev/null)
JANSSON_LIBS   := $(or $(shell pkg-config --libs jansson 2>/dev/null),-ljansson)

LIBEXITFLOW_SRC := clients/client.c clients/reply.c clients/event.c \
                   clients/subscriber.c clients/curve.c
# The CLI links its own objects, the client library and the protocol
# library (HUD labels, command names) — no other program's folder:
# `dq-report` runs `exitflow-dq report`, the DQ worker's report mode
# (clients/cli/dq_report.c).
CLI_SRC := clients/cli/exitflow.c clients/cli/args.c clients/cli/json.c \
           clients/cli/format.c clients/cli/show.c clients/cli/codes.c \
           clients/cli/caseworker.c clients/cli/ops.c clients/cli/demo.c \
           clients/cli/dq_report.c clients/cli/keygen.c clients/cli/event_text.c \
           clients/cli/sample.c clients/cli/export.c clients/jsonpack.c
LIB_HDRS := clients/exitflow.h clients/internal.h
CLI_HDRS := clients/exitflow.h clients/cli/cli.h

$(call picobjs,$(LIBEXITFLOW_SRC)): $(LIB_HDRS)
$(call objs,$(CLI_SRC)): $(CLI_HDRS)
$(call objs,$(CLI_SRC)): CFLAGS += $(JANSSON_CFLAGS)
# Export.csv's SoftwareVersion: the release (the file VERSION, the
# package's), not the library's ABI version.
$(OBJ)/clients/cli/export.o: CFLAGS += -DEXITFLOW_RELEASE='"$(shell cat VERSION 2>/dev/null)"'
$(OBJ)/clients/cli/export.o: VERSION

clients: $(BIN)/exitflow $(BIN)/libexitflow.a $(BIN)/libexitflow.so $(BIN)/libexitflow.pc \
         examples

# clients/examples/: programs a vendor or an analyst would write, built as
# theirs would be: the public header and the shared library, nothing else
# of the tree (test-pkgconfig builds them from the installed .pc too).
EXAMPLES := $(BIN)/exits_by_destination
.PHONY: examples
examples: $(EXAMPLES)
$(BIN)/exits_by_destination: clients/examples/exits_by_destination.c \
    $(BIN)/libexitflow.so clients/exitflow.h
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -Iclients $< -o $@ -L$(BIN) -lexitflow -Wl,-rpath,'$$ORIGIN' \
	  $(CLIENT_LDLIBS)

# The codec stays private, and so do the library's own helpers: both
# archive and shared library are built from the hidden-by-default PIC
# objects plus a private copy of the protocol library, and only what
# exitflow.h marks EXITFLOW_EXPORT is global. For the archive, `ld -r`
# joins them into one relocatable object (resolving the library's calls
# into the protocol code) and `objcopy --localize-hidden` turns every
# hidden symbol into a local one, so a program that links
# $(PROTOCOL_LIB) as well gets no clash. tests/clients/check_symbols.sh
# holds both files to it.
LIBEXITFLOW_OBJS := $(call picobjs,$(LIBEXITFLOW_SRC))
LIBEXITFLOW_RELOC := $(OBJ)/pic/libexitflow.o
LD      ?= ld
OBJCOPY ?= objcopy

$(LIBEXITFLOW_RELOC): $(LIBEXITFLOW_OBJS) $(PROTOCOL_PIC_LIB)
	@mkdir -p $(dir $@)
	$(LD) -r -o $@.joined $(LIBEXITFLOW_OBJS) $(PROTOCOL_PIC_LIB)
	$(OBJCOPY) --localize-hidden $@.joined $@
	rm -f $@.joined

$(BIN)/libexitflow.a: $(LIBEXITFLOW_RELOC)
	@mkdir -p $(BIN)
	rm -f $@
	ar rcs $@ $^

# A sanitized shared library leaves the sanitizer runtime to the program,
# so --no-undefined only holds for a plain build.
$(BIN)/$(LIBEXITFLOW_SONAME): $(LIBEXITFLOW_OBJS) $(PROTOCOL_PIC_LIB)
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

# $(PROTOCOL_LIB) after libexitflow.a: the library's own copy of the
# protocol code is private, the CLI's calls are resolved here.
$(BIN)/exitflow: $(call objs,$(CLI_SRC)) $(BIN)/libexitflow.a $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(JANSSON_LIBS) $(CLIENT_LDLIBS)

# ---- tests ----

# Linked against the shared library (found beside it through the rpath),
# so the exported surface is what the tests exercise; the protocol library
# too, for its error table (and to show both link side by side).
$(BIN)/test_libexitflow: tests/clients/test_libexitflow.c $(BIN)/libexitflow.so \
    clients/exitflow.h $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -Iclients $< -o $@ -L$(BIN) -lexitflow -Wl,-rpath,'$$ORIGIN' \
	  $(PROTOCOL_LIB) $(CLIENT_LDLIBS) -lcmocka -lpthread

# CURVE against a stand-in server made in the test with czmq (zauth, a
# CURVE ROUTER and PUB): no daemon needed.
$(BIN)/test_curve: tests/clients/test_curve.c $(BIN)/libexitflow.so clients/exitflow.h \
    tests/support/msgpack_builder.h $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -Iclients $< -o $@ -L$(BIN) -lexitflow -Wl,-rpath,'$$ORIGIN' \
	  $(PROTOCOL_LIB) $(CLIENT_LDLIBS) -lcmocka

# The CLI tests run the DQ worker too (the demo waits for its findings;
# `dq-report` is its report mode), from the same build.
CLIENT_TEST_ENV = EXITFLOWD=$(abspath $(BIN))/exitflowd EXITFLOW_CLI=$(abspath $(BIN))/exitflow \
    EXITFLOW_DQ=$(abspath $(BIN))/exitflow-dq

test-libexitflow: $(BIN)/test_libexitflow $(BIN)/exitflowd
	$(CLIENT_TEST_ENV) $(BIN)/test_libexitflow

test-curve: $(BIN)/test_curve
	$(BIN)/test_curve

test-cli: $(BIN)/exitflow $(BIN)/exitflowd $(BIN)/exitflow-dq
	$(CLIENT_TEST_ENV) $(PYTHON) -m pytest -q tests/clients

# The installed header and pkg-config file are enough to build a program:
# install into a scratch prefix, build a program from the .pc file alone;
# then the same program on the installed static archive (whose private
# protocol code must resolve within itself).
PC_STAGE = $(abspath $(OBJ))/pc-stage
test-pkgconfig: clients
	rm -rf $(PC_STAGE)
	$(MAKE) --no-print-directory install-clients PREFIX=$(PC_STAGE) LIBDIR=$(PC_STAGE)/lib \
	  INCLUDEDIR=$(PC_STAGE)/include DESTDIR=
	$(CC) $(CFLAGS) tests/clients/pkgconfig_smoke.c -o $(PC_STAGE)/smoke \
	  $$(PKG_CONFIG_PATH=$(PC_STAGE)/lib/pkgconfig pkg-config --cflags --libs libexitflow) \
	  -Wl,-rpath,$(PC_STAGE)/lib
	$(PC_STAGE)/smoke
	$(CC) $(CFLAGS) tests/clients/pkgconfig_smoke.c -o $(PC_STAGE)/smoke-static \
	  $$(PKG_CONFIG_PATH=$(PC_STAGE)/lib/pkgconfig pkg-config --cflags libexitflow) \
	  $(PC_STAGE)/lib/libexitflow.a $(CLIENT_LDLIBS)
	$(PC_STAGE)/smoke-static
	$(CC) $(CFLAGS) clients/examples/exits_by_destination.c -o $(PC_STAGE)/example \
	  $$(PKG_CONFIG_PATH=$(PC_STAGE)/lib/pkgconfig pkg-config --cflags --libs libexitflow)

# Only exitflow_* may be global in the archive and the shared library.
test-symbols: $(BIN)/libexitflow.a $(BIN)/libexitflow.so
	tests/clients/check_symbols.sh $^

test-clients: clients $(BIN)/exitflowd $(BIN)/exitflow-dq
	@$(MAKE) --no-print-directory test-symbols test-libexitflow test-curve test-cli \
	  test-pkgconfig

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
