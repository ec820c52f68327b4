# deploy.mk — installing exitflow, its Debian package, and their checks.
# Included by the top Makefile; uses its CC, CFLAGS, BIN, OBJ, PYTHON,
# clients.mk's install-clients (PREFIX, LIBDIR, INCLUDEDIR) and the
# programs' build rules.
#
#   make install PREFIX=/usr/local DESTDIR=
#                  the daemon, both workers, the CLI, exitflow-web and its
#                  pages (web.mk's install-web), libexitflow (.so, .a,
#                  header, pkg-config), man pages (help2man, at build time),
#                  the config for the installed layout, the systemd units,
#                  exitflow-setup (the user, directories and keys)
#   make deb       exitflow_$(VERSION)_amd64.deb, from a tree staged by
#                  `make install` (built with Debian's hardening flags)
#   make test-deploy   the units verified, the package built, its contents,
#                  lintian, the unpacked tree against what the units name;
#                  sd_notify readiness and the installed key rule (in
#                  make test)
#   make try-deb   the package for real: a Debian 12 root (debootstrap),
#                  booted with systemd-nspawn, the package installed there,
#                  the services started, a demo exit (not in make test:
#                  minutes, and the network)
#
# Why dpkg-deb from a staged tree rather than debhelper: `make install`
# already knows where every file goes, so the package is exactly what a
# source install puts down (one list, not two); what debhelper would add is
# written out here in a few lines: Depends from dpkg-shlibdeps, the shlibs
# file and the ldconfig trigger, md5sums, and the systemd snippets of
# dh_installsystemd (deploy/debian/post*, prerm).

# The one place the release version lives; the package, the man pages and
# the package's changelog take it from here.
VERSION := $(shell cat VERSION)

BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/exitflow
# /etc whatever the prefix: the units' ConfigurationDirectory= is /etc's.
SYSCONFDIR ?= /etc
# systemd reads units from /usr/local/lib/systemd/system too; the package
# puts them in /lib/systemd/system (Debian 12's place for packaged units).
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

# Debian packages: making the man pages and the package (on top of
# DEB_BUILD, DEB_CLIENTS, DEB_WORKERS), and the long try by hand. What the
# checks need (lintian, systemd's systemd-analyze) is in the Makefile's
# DEB_TEST.
DEB_PACKAGE := help2man dpkg-dev binutils
DEB_TRY     := debootstrap systemd-container

UNITS := exitflowd exitflow-dq exitflow-notify exitflow-web
UNIT_FILES := $(patsubst %,deploy/systemd/%.service,$(UNITS))

# ---- man pages: help2man from each program's --help ----
# deploy/man/NAME.h2m gives the NAME line and what --help does not say
# (files, exit status, see also). Generated at build time, never committed.
MAN1 := exitflow
MAN8 := exitflowd exitflow-dq exitflow-notify exitflow-web
MAN_FILES := $(patsubst %,$(OBJ)/man/%.1,$(MAN1)) $(patsubst %,$(OBJ)/man/%.8,$(MAN8))
HELP2MAN = help2man --no-info --no-discard-stderr --version-string='$(VERSION)'

.PHONY: man install install-programs install-man install-config install-units \
        deb test-deploy try-deb deps-package

man: $(MAN_FILES)

$(OBJ)/man/%.1: $(BIN)/% deploy/man/%.h2m VERSION
	@mkdir -p $(dir $@)
	$(HELP2MAN) --section=1 --include=deploy/man/$*.h2m --output=$@ $<

$(OBJ)/man/%.8: $(BIN)/% deploy/man/%.h2m VERSION
	@mkdir -p $(dir $@)
	$(HELP2MAN) --section=8 --include=deploy/man/$*.h2m --output=$@ $<

# ---- the installed configuration: deploy/exitflow.cfg, rewritten ----
# One template: deploy/installed.sed turns the checkout's paths (./var/…,
# clients/web/static) into the installed layout's and adds the keys'
# locations.
$(OBJ)/deploy/exitflow.cfg: deploy/exitflow.cfg deploy/installed.sed
	@mkdir -p $(dir $@)
	sed -f deploy/installed.sed $< >$@.new
	@if grep -nE '\./var|= *clients/' $@.new; then \
	  echo "deploy: the installed config still names a checkout path (deploy/installed.sed)"; \
	  rm -f $@.new; exit 1; fi
	mv $@.new $@

# ---- make install ----
deps-package:
	$(call install_missing,$(DEB_BUILD) $(DEB_CLIENTS) $(DEB_WORKERS) $(DEB_PACKAGE))

install: deps-package
	@$(MAKE) --no-print-directory install-clients install-programs install-web \
	  install-man install-config install-units

# exitflow-setup in PREFIX/lib/exitflow: it finds the CLI at ../../bin.
install-programs: daemon workers
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PREFIX)/lib/exitflow
	install -m 755 $(BIN)/exitflowd $(BIN)/exitflow-dq $(BIN)/exitflow-notify \
	  $(DESTDIR)$(BINDIR)/
	install -m 755 deploy/exitflow-setup $(DESTDIR)$(PREFIX)/lib/exitflow/exitflow-setup

install-man: man
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 644 $(filter %.1,$(MAN_FILES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(filter %.8,$(MAN_FILES)) $(DESTDIR)$(MANDIR)/man8/

# An existing config is the operator's: it is kept, and the new one put
# beside it as exitflow.cfg.dist. The pages' directory is the package's
# (/usr/share/exitflow/web) unless WEBDIR (web.mk) says otherwise. The
# runbook goes with the docs.
install-config: $(OBJ)/deploy/exitflow.cfg
	install -d $(DESTDIR)$(SYSCONFDIR)/exitflow $(DESTDIR)$(DOCDIR)
	sed 's|= /usr/share/exitflow/web$$|= $(WEBDIR)|' $< >$(OBJ)/deploy/exitflow.cfg.prefix
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/exitflow/exitflow.cfg ]; then \
	  echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/exitflow/exitflow.cfg;" \
	       "the new one is exitflow.cfg.dist beside it"; \
	  install -m 644 $(OBJ)/deploy/exitflow.cfg.prefix $(DESTDIR)$(SYSCONFDIR)/exitflow/exitflow.cfg.dist; \
	else install -m 644 $(OBJ)/deploy/exitflow.cfg.prefix $(DESTDIR)$(SYSCONFDIR)/exitflow/exitflow.cfg; fi
	install -m 644 deploy/OPERATIONS.md $(DESTDIR)$(DOCDIR)/OPERATIONS.md

# The units name /usr/bin (the package's place); another prefix gets its
# own. Each unit gets the one sandbox as its drop-in.
install-units: $(UNIT_FILES) deploy/systemd/sandbox.conf
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	for u in $(UNITS); do \
	  sed 's|/usr/bin/|$(BINDIR)/|g' deploy/systemd/$$u.service \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u.service && \
	  chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.service && \
	  install -D -m 644 deploy/systemd/sandbox.conf \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.service.d/sandbox.conf || exit 1; \
	done

# ---- make deb ----
# Built apart (bin-deb/, build-deb/) with dpkg-buildflags' hardening (in
# the environment: the Makefile adds its own flags to CFLAGS from there), then
# installed into a staged tree under PREFIX=/usr and Debian's multiarch
# library directory, stripped, and packed with dpkg-deb.
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_MULTI   := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
DEB_FILE    := exitflow_$(VERSION)_$(DEB_ARCH).deb
DEB_BIN     := bin-deb
DEB_OBJ     := build-deb
DEB_STAGE   := $(DEB_OBJ)/pkg/debian/exitflow
DEB_CFLAGS  := $(shell dpkg-buildflags --get CFLAGS 2>/dev/null) \
               $(shell dpkg-buildflags --get CPPFLAGS 2>/dev/null) \
               $(shell dpkg-buildflags --get LDFLAGS 2>/dev/null) -Wl,-z,now
DEB_SCRIPTS := postinst prerm postrm
# Who answers for the package (Maintainer, changelog): a CoC building its
# own sets its ops address, e.g. make deb DEB_MAINTAINER='Ops <ops@coc.org>'.
DEB_MAINTAINER ?= exitflow developers <exitflow@example.org>
# Reproducible: the changelog's date is the last commit's.
DEB_DATE    := $(shell git log -1 --format=%aD 2>/dev/null || date -R)

deb: deps-package
	@$(MAKE) --no-print-directory $(DEB_FILE)

DEB_SOURCES := $(shell git ls-files 2>/dev/null | grep -v '^tests/')

$(DEB_FILE): VERSION $(DEB_SOURCES) $(wildcard deploy/debian/*)
	@CFLAGS="$(DEB_CFLAGS)" $(MAKE) --no-print-directory BIN=$(DEB_BIN) OBJ=$(DEB_OBJ) \
	  daemon clients workers web
	rm -rf $(DEB_STAGE)
	@CFLAGS="$(DEB_CFLAGS)" $(MAKE) --no-print-directory BIN=$(DEB_BIN) OBJ=$(DEB_OBJ) \
	  PREFIX=/usr LIBDIR=/usr/lib/$(DEB_MULTI) INCLUDEDIR=/usr/include \
	  SYSTEMDUNITDIR=/lib/systemd/system DESTDIR=$(CURDIR)/$(DEB_STAGE) \
	  install-clients install-programs install-web install-man install-config install-units
	DEB_MAINTAINER='$(DEB_MAINTAINER)' deploy/debian/stage.sh $(DEB_STAGE) '$(VERSION)' '$(DEB_ARCH)' '$(DEB_MULTI)' \
	  '$(LIBEXITFLOW_SONAME)' '$(DEB_DATE)'
	dpkg-deb --root-owner-group -Zxz --build $(DEB_STAGE) $@

# ---- checks (make test) ----
# The package built and checked (tests/deploy/check_package.sh: contents,
# lintian, the units verified, what they name), then the programs' side
# (tests/deploy/*.py): readiness, the installed config, the key rule.
test-deploy: deps-test all $(OBJ)/deploy/exitflow.cfg
	@$(MAKE) --no-print-directory deb
	tests/deploy/check_package.sh $(DEB_FILE) '$(VERSION)'
	EXITFLOW_INSTALLED_CFG=$(abspath $(OBJ))/deploy/exitflow.cfg \
	  $(PYTHON) -m pytest -q tests/deploy

# ---- the real thing, by hand ----
try-deb: deb
	$(call install_missing,$(DEB_TRY))
	deploy/try-deb.sh $(DEB_FILE)

clean: clean-deploy
.PHONY: clean-deploy
clean-deploy:
	rm -rf $(DEB_BIN) $(DEB_OBJ) exitflow_*.deb
