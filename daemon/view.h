/* view — the workflow as clients read it.
 *
 * Owns: the encoding of a workflow value into the view that workflow.get
 * answers (PROTOCOL.md §4.6) and the item that workflow.list answers (§3).
 * Pure: no store, no clock: `today` (the CoC's day, days since 1970) is
 * the caller's, for the members whose adult status rests on a birth date
 * and who have no exit date yet. */
#ifndef EXF_VIEW_H
#define EXF_VIEW_H

#include "workflow.h"

/* The view of PROTOCOL.md §4.6 (workflow.get). */
void view_pack_workflow (msgpack_packer *pk, const workflow_t *wf,
                         int64_t today);
/* The list item of PROTOCOL.md §3 (workflow.list). */
void view_pack_summary (msgpack_packer *pk, const workflow_t *wf,
                        int64_t today);

#endif
