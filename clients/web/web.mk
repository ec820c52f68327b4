# web.mk — exitflow-web, the web front end's gateway (libmicrohttpd +
# jansson + libexitflow + libcrypt), and its tests. Included by the top
# Makefile; uses its CC, CFLAGS, BIN, OBJ, PYTHON, the `objs` macro,
# protocol.mk's PROTOCOL_LIB and clients.mk's JANSSON_* and libexitflow.a.
#
#   make web        bin/exitflow-web
#   make test-web   tests/web: the modules without a daemon (cmocka), then
#                   the API over HTTP and HTTPS against a real
#                   exitflowd, exitflow-dq and exitflow-web on free ports
#                   (and the browser tests beside them, where present)
#   make install-web  exitflow-web in $(BINDIR), the pages in $(WEBDIR)
#                   (part of `make install`, deploy/deploy.mk)

.PHONY: web test-web asan-web install-web

# Debian packages on top of DEB_BUILD / DEB_TEST: libcrypt for yescrypt
# (crypt_rn, crypt_gensalt_rn); openssl makes the TLS test's certificate.
DEB_WEB      := libcrypt-dev libjansson-dev libmicrohttpd-dev
DEB_WEB_TEST := openssl
DEB_CLIENTS  += $(DEB_WEB)
DEB_TEST     += $(DEB_WEB_TEST)

MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS   := $(or $(shell pkg-config --libs libmicrohttpd 2>/dev/null),-lmicrohttpd)
WEB_LDLIBS := $(shell pkg-config --libs libczmq libzmq msgpack 2>/dev/null)

WEB_SRC := clients/web/web.c clients/web/settings.c clients/web/users.c \
           clients/web/sessions.c clients/web/ratelimit.c clients/jsonpack.c \
           clients/web/gateway.c clients/web/live.c clients/web/static.c \
           clients/web/api.c clients/web/server.c

$(call objs,$(WEB_SRC)): CFLAGS += $(JANSSON_CFLAGS) $(MHD_CFLAGS)
$(call objs,$(WEB_SRC)): $(wildcard clients/web/*.h) clients/exitflow.h

web: $(BIN)/exitflow-web

# Its own objects, the client library, the protocol library: no other
# program's folder (tests/layering.sh).
$(BIN)/exitflow-web: $(call objs,$(WEB_SRC)) $(BIN)/libexitflow.a $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(MHD_LIBS) $(JANSSON_LIBS) -lcrypt $(WEB_LDLIBS) -lpthread

# The pages' installed place; the installed config's web/static names it
# (deploy/installed.sed, rewritten by deploy.mk's install-config for
# another PREFIX). Every file under static/ but dotfiles, as it is laid out.
WEBDIR ?= $(PREFIX)/share/exitflow/web

install-web: web
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(WEBDIR)
	install -m 755 $(BIN)/exitflow-web $(DESTDIR)$(BINDIR)/
	cd clients/web/static && find . -type f ! -name '.*' \
	  -exec install -D -m 644 {} $(DESTDIR)$(WEBDIR)/{} \;

# The modules that need no daemon, in cmocka: sessions, rate limits, JSON
# limits, the pages' paths, the users file.
WEB_UNIT_OBJS := $(call objs,$(filter-out clients/web/web.c,$(WEB_SRC)))
$(BIN)/test_web_units: tests/web/test_web_units.c $(WEB_UNIT_OBJS) $(BIN)/libexitflow.a \
    $(PROTOCOL_LIB) $(wildcard clients/web/*.h)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(JANSSON_CFLAGS) $(MHD_CFLAGS) $(filter-out %.h,$^) -o $@ \
	  $(MHD_LIBS) $(JANSSON_LIBS) -lcrypt $(WEB_LDLIBS) -lpthread -lcmocka

WEB_TEST_ENV = EXITFLOWD=$(abspath $(BIN))/exitflowd EXITFLOW_DQ=$(abspath $(BIN))/exitflow-dq \
    EXITFLOW_WEB=$(abspath $(BIN))/exitflow-web EXITFLOW_CLI=$(abspath $(BIN))/exitflow

test-web: $(BIN)/exitflow-web $(BIN)/exitflowd $(BIN)/exitflow-dq $(BIN)/exitflow \
    $(BIN)/test_web_units
	$(BIN)/test_web_units
	$(WEB_TEST_ENV) $(PYTHON) -m pytest -q tests/web

asan-web: deps-test
	@$(MAKE) --no-print-directory BIN=bin-asan OBJ=build-asan \
	  SAN="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  test-web
