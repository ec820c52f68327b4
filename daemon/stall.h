/* stall — the stall scan: open workflows idle past a threshold get one
 * workflow.stalled event per idle period (PROTOCOL.md §5).
 *
 * Owns: walking the open workflows in order of their last change, from
 * where the previous scan stopped, and marking each one due through the
 * same write path commands use (change.h). The server runs it on a timer
 * in its own transaction. */
#ifndef EXF_STALL_H
#define EXF_STALL_H

#include "change.h"

/* Where the scan stopped: open workflows are indexed by their last change,
 * so every one at or before the cursor has had its turn, and each scan
 * only looks at those that became due since. Kept in memory: after a
 * restart the first scan walks them all once. */
typedef struct {
    uint8_t key[64];
    size_t len;
} stall_cursor_t;

/* Marks open workflows idle for `stall_after_s` as stalled, at most `max`
 * per call, and counts them in `marked`. The caller commits, and keeps the
 * moved cursor only when the commit succeeds. */
store_status_t stall_scan (const change_env_t *env, int64_t stall_after_s,
                           stall_cursor_t *cursor, int max, int *marked);

#endif
