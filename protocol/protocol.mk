# protocol.mk — libexitflow-protocol.a: the shared contract library (the
# msgpack codec, the HMIS vocabulary, the protocol's name tables). Internal:
# linked into the daemon, the workers, libexitflow and the tests; never
# installed. Included by the top Makefile.
#
#   make protocol        $(OBJ)/libexitflow-protocol.a (and a PIC copy for
#                        shared libraries)
#   make unit-protocol   its cmocka tests

PROTOCOL_SRC := protocol/codec.c protocol/hud.c protocol/hud_fields.c protocol/calendar.c protocol/names.c protocol/setup.c
PROTOCOL_LIB := $(OBJ)/libexitflow-protocol.a
PROTOCOL_PIC_LIB := $(OBJ)/pic/libexitflow-protocol.a
# msgpack for the codec; czmq for setup.c's setting lookup (zconfig), which
# every program that links setup.o links anyway.
PROTOCOL_LDLIBS := $(shell pkg-config --libs msgpack libczmq 2>/dev/null)

.PHONY: protocol unit-protocol

protocol: $(PROTOCOL_LIB) $(PROTOCOL_PIC_LIB)

$(PROTOCOL_LIB): $(call objs,$(PROTOCOL_SRC))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(PROTOCOL_PIC_LIB): $(call picobjs,$(PROTOCOL_SRC))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

PROTOCOL_UNIT_TESTS := $(BIN)/test_codec $(BIN)/test_names $(BIN)/test_setup \
                       $(BIN)/test_hud_fields

$(BIN)/test_codec: tests/protocol/test_codec.c tests/support/msgpack_builder.h $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(filter-out %.h,$^) -o $@ $(PROTOCOL_LDLIBS) -lcmocka

$(BIN)/test_names $(BIN)/test_setup: $(BIN)/test_%: tests/protocol/test_%.c $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(PROTOCOL_LDLIBS) -lcmocka

# The typed fields; it also reads PROTOCOL.md, which must name every field
# of the table (so it is rebuilt when the document changes).
$(BIN)/test_hud_fields: tests/protocol/test_hud_fields.c tests/support/msgpack_builder.h protocol/PROTOCOL.md $(PROTOCOL_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -DPROTOCOL_MD='"$(CURDIR)/protocol/PROTOCOL.md"' $(filter-out %.h %.md,$^) -o $@ $(PROTOCOL_LDLIBS) -lcmocka -lm

unit-protocol: $(PROTOCOL_UNIT_TESTS)
	@for t in $^; do echo "== $$t"; $$t || exit 1; done
