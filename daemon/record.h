/* record — a workflow as the store keeps it; the shell's side of the value.
 *
 * Owns: the compact stored form of a workflow value; the ledger the store
 * keeps beside it in the same record; and the members' prior values (the
 * last assessments, for Default Last), which are stored apart.
 *
 * The ledger holds a workflow's newest events (its history's tail) and the
 * references to the stored replies of its newest commands, RECORD_RECENT of
 * each at most; older ones are index entries of their own (store.c). So a
 * workflow that has seen few commands — nearly every one — is one record,
 * which is what keeps commits cheap, and one that has seen 100,000 costs
 * the same to read and write as one that has seen RECORD_RECENT. The rules
 * never see the ledger. */
#ifndef EXF_RECORD_H
#define EXF_RECORD_H

#include "workflow.h"

#define RECORD_RECENT 32

/* Where the reply to one of the workflow's recent commands is stored. */
typedef struct {
    uint64_t id_hash;               /* of the request id */
    uint64_t reply_seq;             /* its place in the reply log */
    int64_t at_ms;
} record_reply_ref_t;

/* The store's bookkeeping for one workflow: the seqs of its newest events
 * and where the replies to its newest commands are, oldest first. Between
 * a read and a store it may hold more than RECORD_RECENT of each; the
 * store then moves the oldest out (record_ledger_drop_oldest). */
typedef struct {
    uint64_t *history;
    uint32_t n_history, cap_history;
    record_reply_ref_t *replies;
    uint32_t n_replies, cap_replies;
} record_ledger_t;

void record_ledger_init (record_ledger_t *ledger);
void record_ledger_fini (record_ledger_t *ledger);
void record_ledger_add_event (record_ledger_t *ledger, uint64_t seq);
/* Adds a reference and drops those written before `expire_before_ms`. */
void record_ledger_add_reply (record_ledger_t *ledger, record_reply_ref_t ref,
                              int64_t expire_before_ms);
/* Forgets the `events` oldest events and the `replies` oldest references
 * (once they are indexed elsewhere). */
void record_ledger_drop_oldest (record_ledger_t *ledger, uint32_t events,
                                uint32_t replies);

/* The stored form of a workflow and its ledger (RECORD_RECENT of each at
 * most), without prior values. Decodes into an empty workflow and an empty
 * ledger; false for a record that does not decode (what it filled is then
 * to be reset). */
void record_pack (msgpack_packer *pk, const workflow_t *wf,
                  const record_ledger_t *ledger);
bool record_unpack (workflow_t *wf, record_ledger_t *ledger, const void *buf,
                    size_t len);

/* Prior values (`last`), stored apart: written once at start, read only
 * for Default Last. Unpack into a workflow already holding its members. */
bool record_has_priors (const workflow_t *wf);
void record_pack_priors (msgpack_packer *pk, const workflow_t *wf);
bool record_unpack_priors (workflow_t *wf, const void *buf, size_t len);

#endif
