# tests.mk — what belongs to no one part: the benchmark and the layering
# check. Included by the top Makefile.

$(BIN)/exitflow-bench: tests/bench/bench.c
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS) -lpthread
