/* cmd_ops — the commands that read no workflow: ping and stats (for
 * operators and monitors), store.backup (for admins), and hud.codes (the
 * HUD vocabulary, for front ends). */
#include <string.h>

#include "protocol/calendar.h"
#include "protocol/hud_fields.h"

#include "backup.h"
#include "handlers.h"

store_status_t
cmd_ping (call_t *c)
{
    msgpack_pack_map (c->pk, 2);
    codec_pack_cstr (c->pk, "pong");
    msgpack_pack_true (c->pk);
    pack_kv_str (c->pk, "version", "exitflow/1");
    return STORE_OK;
}

store_status_t
cmd_stats (call_t *c)
{
    const change_env_t *env = &c->env->change;
    uint64_t counts[WF_STATE_COUNT];
    store_status_t rc = store_workflow_counts (env->txn, counts);
    if (rc)
        return rc;
    msgpack_pack_map (c->pk, 6);
    codec_pack_cstr (c->pk, "workflows");
    msgpack_pack_map (c->pk, WF_STATE_COUNT);
    for (int i = 0; i < WF_STATE_COUNT; i++)
        pack_kv_int (c->pk, workflow_state_names[i], (int64_t) counts[i]);
    pack_kv_int (c->pk, "last_seq", (int64_t) store_last_seq (env->txn));
    pack_kv_int (c->pk, "uptime_s",
                 (env->now_ms - c->env->started_ms) / 1000);
    /* the zone every "today" is counted in (--timezone) */
    pack_kv_str (c->pk, "timezone", calendar_zone ());
    pack_kv_int (c->pk, "requests", (int64_t) c->env->requests_before);
    /* the store's schema, its map and how far it may grow */
    store_map_t map;
    store_map (store_txn_store (env->txn), &map);
    codec_pack_cstr (c->pk, "store");
    msgpack_pack_map (c->pk, 4);
    pack_kv_int (c->pk, "schema", STORE_FORMAT);
    pack_kv_int (c->pk, "map_size", (int64_t) map.map_size);
    pack_kv_int (c->pk, "max_map_size", (int64_t) map.max_map_size);
    codec_pack_cstr (c->pk, "full");
    pack_bool (c->pk, map.full);
    return STORE_OK;
}

/* A compacted copy of the store into `dir`, written while the daemon
 * serves; the request is answered when the copy is done (backup.h). */
store_status_t
cmd_store_backup (call_t *c)
{
    exf_str_t dir;
    if (!codec_read_str (c->args, "dir", true, BACKUP_DIR_MAX, &dir, NULL,
                         EXF_BAD_REQUEST, &c->err))
        return STORE_OK;
    if (memchr (dir.ptr, '\0', dir.len)) {
        exf_fail (&c->err, EXF_BAD_REQUEST, "dir", "dir must not hold a NUL "
                  "byte");
        return STORE_OK;
    }
    if (!c->env->backup) {
        exf_fail (&c->err, EXF_UNAVAILABLE, NULL, "backups are not "
                  "available here");
        return STORE_OK;
    }
    char path[BACKUP_DIR_MAX + 1];
    codec_str_copy (path, sizeof path, dir);
    c->deferred = backup_start (c->env->backup, c->req->id, path, &c->err);
    return STORE_OK;
}

/* The code lists, destinations and every step's typed fields, straight
 * from the tables (hud.h, hud_fields.h), so that no front end hard-codes
 * them. Arguments, like any command's unknown ones, are ignored. */
store_status_t
cmd_hud_codes (call_t *c)
{
    hud_codes_pack (c->pk);
    return STORE_OK;
}
