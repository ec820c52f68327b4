/* record — a workflow as the store keeps it; the shell's side of the value.
 *
 * Owns: the compact stored form of a workflow value, the members' prior
 * values (the last assessments, for Default Last), which are stored apart,
 * and the ledger: the events a command added to the workflow's history
 * since it was read, which the store indexes beside the record when it
 * stores the workflow. The record holds what the rules read and nothing
 * that grows with the commands a workflow has seen: its history and the
 * references to its stored replies are index entries of their own (see
 * store.c), so reading and writing it costs the same at the 100,000th
 * command as at the first. The rules never see the ledger. */
#ifndef EXF_RECORD_H
#define EXF_RECORD_H

#include "workflow.h"

/* The seqs of the events a command appended to one workflow, not yet
 * indexed as its history. */
typedef struct {
    uint64_t *history;
    uint32_t n_history, cap_history;
} record_ledger_t;

void record_ledger_init (record_ledger_t *ledger);
void record_ledger_fini (record_ledger_t *ledger);
void record_ledger_add_event (record_ledger_t *ledger, uint64_t seq);

/* The stored form of a workflow, without prior values. Decodes into an
 * empty workflow; false for a record that does not decode (what it filled
 * is then to be reset). */
void record_pack (msgpack_packer *pk, const workflow_t *wf);
bool record_unpack (workflow_t *wf, const void *buf, size_t len);

/* Prior values (`last`), stored apart: written once at start, read only
 * for Default Last. Unpack into a workflow already holding its members. */
bool record_has_priors (const workflow_t *wf);
void record_pack_priors (msgpack_packer *pk, const workflow_t *wf);
bool record_unpack_priors (workflow_t *wf, const void *buf, size_t len);

#endif
