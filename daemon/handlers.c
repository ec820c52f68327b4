/* handlers — the steps command handlers share. See handlers.h. */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

store_wf_t *
call_target (call_t *c)
{
    if (!c->target)
        exf_fail (&c->err, EXF_NOT_FOUND, "workflow_id", "no such workflow");
    return c->target;
}

change_who_t
call_who (const call_t *c, char *actor)
{
    codec_str_copy (actor, EXF_ID_MAX + 1, c->req->actor);
    change_who_t who = { actor, c->caller->name };
    return who;
}

bool
call_read_limit (call_t *c, int64_t *limit)
{
    bool present;
    *limit = 100;
    if (!codec_read_int (c->args, "limit", false, limit, &present,
                         EXF_BAD_REQUEST, &c->err))
        return false;
    if (*limit < 1 || *limit > 1000)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "limit",
                         "limit is 1 to 1000");
    return true;
}

bool
call_read_cursor (call_t *c, uint8_t *cursor, size_t *len)
{
    static const char digits[] = "0123456789abcdef";
    exf_str_t after;
    *len = 0;
    if (!codec_read_str (c->args, "after", false, 2 * CALL_CURSOR_MAX, &after,
                         NULL, EXF_BAD_REQUEST, &c->err))
        return false;
    if (after.len % 2)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "after",
                         "after is a cursor from a previous page");
    for (uint32_t i = 0; i < after.len; i += 2) {
        const char *hi = memchr (digits, after.ptr[i], 16);
        const char *lo = memchr (digits, after.ptr[i + 1], 16);
        if (!hi || !lo)
            return exf_fail (&c->err, EXF_BAD_REQUEST, "after",
                             "after is a cursor from a previous page");
        cursor[i / 2] = (uint8_t) ((hi - digits) << 4 | (lo - digits));
    }
    *len = after.len / 2;
    return true;
}

void
call_pack_cursor (call_t *c, const uint8_t *key, size_t len)
{
    codec_pack_cstr (c->pk, "next");
    if (!key || !len || len > CALL_CURSOR_MAX) {
        msgpack_pack_nil (c->pk);
        return;
    }
    char hex[2 * CALL_CURSOR_MAX + 1];
    for (size_t i = 0; i < len; i++)
        snprintf (hex + 2 * i, 3, "%02x", key[i]);
    codec_pack_cstr (c->pk, hex);
}

void
call_pack_write_result (call_t *c, const workflow_t *wf, int n_extra)
{
    msgpack_pack_map (c->pk, (size_t) (3 + n_extra));
    pack_kv_str (c->pk, "workflow_id", wf->workflow_id);
    pack_kv_int (c->pk, "version", wf->version);
    pack_kv_str (c->pk, "state", workflow_state_names[wf->state]);
}

store_status_t
call_write (call_t *c, const call_write_t *op, const void *args,
            bool with_priors)
{
    int64_t expected = 0;
    bool has_expected;
    if (!codec_read_int (c->args, "expected_version", false, &expected,
                         &has_expected, EXF_BAD_REQUEST, &c->err))
        return STORE_OK;
    store_wf_t *swf = call_target (c);
    if (!swf
        || !workflow_check_version (swf->wf, has_expected, expected, &c->err))
        return STORE_OK;
    store_status_t rc = STORE_OK;
    if (with_priors && (rc = store_workflow_get_priors (c->env->change.txn,
                                                        swf->wf)))
        return rc;
    char actor[EXF_ID_MAX + 1];
    change_who_t who = call_who (c, actor);
    bool changed;
    rc = change_apply (&c->env->change, swf, op->decide, args, &who, &c->err,
                       &changed);
    c->changed |= changed;
    if (!rc && changed) {
        call_pack_write_result (c, swf->wf, op->n_extra);
        if (op->pack_extra)
            op->pack_extra (c->pk, swf->wf, args);
    }
    return rc;
}
