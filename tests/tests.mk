# tests.mk — what belongs to no one part: the benchmark, the layering
# check, the fuzz targets and the crash loop. Included by the top Makefile.

# The bench speaks EXITFLOW/1 through the protocol library, like every other
# program.
$(BIN)/exitflow-bench: tests/bench/bench.c $(PROTOCOL_LIB) protocol/codec.h protocol/names.h
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(filter-out %.h,$^) -o $@ $(LDLIBS) -lpthread

# The folders' walls (tests/layering.sh): first on fabricated trees, so the
# check cannot pass by finding nothing, then on this tree. Needs no build.
.PHONY: layering
layering:
	tests/layering.sh --self-test
	tests/layering.sh

# The memory bound held for a minute (make test holds it 15 s).
.PHONY: soak
soak: all
	EXITFLOW_SOAK_S=60 $(PYTHON) -m pytest -q -s tests/integration/test_memory_bounds.py

# ---- fuzzing (tests/fuzz/README.md) ----
# libFuzzer targets, built with clang into bin-fuzz/ from objects of their
# own (build-fuzz/, instrumented for coverage, ASan and UBSan):
#   fuzz_codec     the request decoder and the typed assessment check
#   fuzz_commands  every command through the real handlers on a temp LMDB
#   make fuzz FUZZ_SECONDS=N   each target N seconds on a copy of its corpus
#   make fuzz-quick            the regressions, then each target 10 s (make test)
FUZZ_SECONDS ?= 60
FUZZ_SAN := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
            -fsanitize=fuzzer-no-link,address,undefined
FUZZ_TARGETS := $(BIN)/fuzz_codec $(BIN)/fuzz_commands

.PHONY: fuzz fuzz-quick fuzz-build fuzz-targets fuzz-corpus
fuzz-build:
	@$(MAKE) --no-print-directory CC=clang BIN=bin-fuzz OBJ=build-fuzz \
	  SAN="$(FUZZ_SAN)" fuzz-targets

fuzz-targets: $(FUZZ_TARGETS)

$(BIN)/fuzz_codec: tests/fuzz/fuzz_codec.c $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $^ -o $@ $(PROTOCOL_LDLIBS) -lm

# The handlers take a workflow id from getrandom: the target wraps it so
# that ids, and so runs, repeat.
$(BIN)/fuzz_commands: tests/fuzz/fuzz_commands.c tests/fuzz/base_script.inc \
    $(DAEMON_TEST_SHELL) $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(filter-out %.h %.inc,$^) -o $@ $(LDLIBS) \
	  -Wl,--wrap=getrandom

fuzz: deps-test fuzz-build
	nice tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-quick: fuzz-build
	tests/fuzz/run.sh --quick

.PHONY: clean-fuzz
clean: clean-fuzz
clean-fuzz:
	rm -rf bin-fuzz build-fuzz

# The seed corpus and base_script.inc, from the requests the Python suites
# send (support.households); the generated files are committed.
fuzz-corpus:
	$(PYTHON) tests/fuzz/gen_corpus.py

# ---- the crash loop (tests/crash/README.md) ----
# Household exits from concurrent clients while exitflowd is SIGKILLed at
# random moments and restarted on its data; then every acknowledged command
# is looked for, and nothing else. make test runs the short form (20 kills).
CRASH_KILLS ?= 500
CRASH_ARGS ?=
.PHONY: crash crash-quick
crash: deps-test all
	nice $(PYTHON) tests/crash/crash_loop.py --kills $(CRASH_KILLS) $(CRASH_ARGS)

crash-quick: all
	$(PYTHON) tests/crash/crash_loop.py --quick $(CRASH_ARGS)
