# tests.mk — what belongs to no one part: the benchmark and the layering
# check. Included by the top Makefile.

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
