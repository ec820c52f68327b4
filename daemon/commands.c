/* commands — the command table, dispatch and idempotency. See commands.h;
 * the handlers are in cmd_*.c. */
#include "commands.h"

#include <string.h>

#include "handlers.h"

struct command_t {
    handler_fn handler;
    bool writes;
    bool scoped;                        /* names one workflow: workflow_id */
    unsigned roles;
};

/* ---- the table ---- */

/* Who may call what (PROTOCOL.md §6). Reads that carry client data are for
 * every role that works with it; changes to a workflow are the front ends'
 * (and admin's); the consumer offsets and DQ findings are the workers'. */
#define FRONTEND (EXF_ROLE_FRONTEND | EXF_ROLE_ADMIN)
#define WORKER (EXF_ROLE_WORKER | EXF_ROLE_ADMIN)
#define OPS (EXF_ROLE_OPS | EXF_ROLE_ADMIN)
#define READERS (FRONTEND | WORKER | OPS)
#define LOG_READERS (WORKER | OPS)

/* A front end is a trusted subsystem: it names the caseworker it acts for.
 * A worker or an ops user acts only as itself. */
#define MAY_NAME_ANY_ACTOR (EXF_ROLE_FRONTEND | EXF_ROLE_ADMIN)

/* Indexed by the protocol's command ids, which give the names. */
static const command_t command_table[EXF_CMD_COUNT] = {
    /*                     handler               writes scoped roles */
    [EXF_CMD_PING]             = { cmd_ping,             false, false, EXF_ROLE_ANY },
    [EXF_CMD_STATS]            = { cmd_stats,            false, false, OPS },
    [EXF_CMD_WORKFLOW_START]   = { cmd_workflow_start,   true,  false, FRONTEND },
    [EXF_CMD_WORKFLOW_GET]     = { cmd_workflow_get,     false, true,  READERS },
    [EXF_CMD_STEP_SAVE]        = { cmd_step_save,        true,  true,  FRONTEND },
    [EXF_CMD_MEMBER_DECIDE]    = { cmd_member_decide,    true,  true,  FRONTEND },
    [EXF_CMD_WORKFLOW_FINISH]  = { cmd_workflow_finish,  true,  true,  FRONTEND },
    [EXF_CMD_WORKFLOW_CANCEL]  = { cmd_workflow_cancel,  true,  true,  FRONTEND },
    [EXF_CMD_WORKFLOW_LIST]    = { cmd_workflow_list,    false, false, READERS },
    [EXF_CMD_WORKFLOW_HISTORY] = { cmd_workflow_history, false, true,  READERS },
    [EXF_CMD_EVENTS_READ]      = { cmd_events_read,      false, false, LOG_READERS },
    [EXF_CMD_CONSUMER_ACK]     = { cmd_consumer_ack,     true,  false, WORKER },
    [EXF_CMD_CONSUMER_LIST]    = { cmd_consumer_list,    false, false, LOG_READERS },
    /* ops only for a consumer idle past the limit: the handler checks */
    [EXF_CMD_CONSUMER_DELETE]  = { cmd_consumer_delete,  true,  false, OPS },
    [EXF_CMD_DQ_REPORT]        = { cmd_dq_report,        true,  true,  WORKER },
    [EXF_CMD_HUD_CODES]        = { cmd_hud_codes,        false, false, EXF_ROLE_ANY },
    /* a copy of every workflow: admin only */
    [EXF_CMD_STORE_BACKUP]     = { cmd_store_backup,     false, false, EXF_ROLE_ADMIN },
    /* finished exits in bulk, for the HUD CSV export: reporting, not
     * casework */
    [EXF_CMD_WORKFLOW_EXPORT]  = { cmd_workflow_export,  false, false, OPS },
};

/* A command the protocol names but this table has no row for (a name
 * added to names.h before its handler) is unknown here, never a NULL
 * handler called. */
const command_t *
commands_find (exf_str_t name)
{
    int id = exf_command_by_name (name.ptr, name.len);
    return id >= 0 && command_table[id].handler ? &command_table[id] : NULL;
}

const command_t *
commands_parse (const void *body, size_t len, msgpack_unpacked *u,
                codec_request_t *req, exf_error_t *err)
{
    const char *why = "";
    memset (req, 0, sizeof *req);
    req->id.ptr = req->cmd.ptr = req->actor.ptr = "";
    if (len > EXF_BODY_MAX) {
        exf_fail (err, EXF_BAD_REQUEST, NULL,
                  "the request is larger than %d bytes", EXF_BODY_MAX);
        return NULL;
    }
    if (!codec_unpack (body, len, u, &why)) {
        exf_fail (err, EXF_BAD_REQUEST, NULL, "not a msgpack request: %s",
                  why);
        return NULL;
    }
    if (!codec_parse_request (&u->data, req, err))
        return NULL;
    const command_t *cmd = commands_find (req->cmd);
    if (!cmd)
        exf_fail (err, EXF_UNKNOWN_COMMAND, "cmd", "no such command");
    return cmd;
}

bool
command_writes (const command_t *cmd)
{
    return cmd->writes;
}

bool
command_allows (const command_t *cmd, unsigned role)
{
    return (cmd->roles & role) != 0;
}

/* FORBIDDEN when the caller's role may not run `cmd`, or when it names an
 * actor other than itself without being allowed to. */
static bool
check_caller (const command_t *cmd, const codec_request_t *req,
              const caller_t *caller, exf_error_t *err)
{
    const char *role = exf_role_name (caller->role);
    if (!command_allows (cmd, caller->role))
        return exf_fail (err, EXF_FORBIDDEN, NULL,
                         "role %s may not call %s", role ? role : "(none)",
                         exf_command_names[cmd - command_table]);
    if (req->actor.len && !(caller->role & MAY_NAME_ANY_ACTOR)
        && !codec_str_eq (req->actor, caller->name))
        return exf_fail (err, EXF_FORBIDDEN, "actor",
                         "a %s certificate acts only as itself: actor must "
                         "be %s or absent", role, caller->name);
    return true;
}

/* ---- running a request ---- */

/* Answers that are the command's definite outcome are kept for retries;
 * the others (a malformed request, a fault, a full disk) are evaluated
 * anew. */
static bool
reply_is_final (const exf_error_t *err)
{
    if (!err->code)
        return true;
    const exf_error_code_t *row = exf_error_code (err->code);
    return row && row->final;
}

/* Reads the workflow a scoped command names into `c->target`; an unknown
 * one leaves it NULL (the handler answers NOT_FOUND). */
static store_status_t
read_target (call_t *c)
{
    char id[EXF_ID_MAX + 1];
    if (!codec_read_id (c->args, "workflow_id", true, id, EXF_BAD_REQUEST,
                        &c->err))
        return STORE_OK;
    c->target = store_wf_new ();
    store_status_t rc = store_workflow_get (c->env->change.txn, id, c->target);
    if (rc == STORE_NOT_FOUND) {
        store_wf_destroy (&c->target);
        rc = STORE_OK;
    }
    return rc;
}

/* The stored reply to an earlier run of this request id, when there is
 * one: the same body gets the same bytes back (`*replayed`), another body
 * is refused. */
static store_status_t
replay (call_t *c, uint64_t hash, msgpack_sbuffer *reply, bool *replayed)
{
    const change_env_t *env = &c->env->change;
    const void *stored;
    size_t stored_len;
    uint64_t stored_hash;
    store_status_t rc = store_reply_get (env->txn, c->target, c->req->id,
                                         env->now_ms, &stored_hash, &stored,
                                         &stored_len);
    *replayed = rc == STORE_OK && stored_hash == hash;
    if (*replayed)
        msgpack_sbuffer_write (reply, stored, stored_len);
    else if (rc == STORE_OK)
        exf_fail (&c->err, EXF_BAD_REQUEST, "id",
                  "this id was already used for a different request");
    return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

store_status_t
commands_execute (const command_env_t *env, const command_t *cmd,
                  const codec_request_t *req, const caller_t *caller,
                  const void *body, size_t body_len, msgpack_sbuffer *reply)
{
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    /* a command without arguments reads fields from an empty map */
    msgpack_object empty = { .type = MSGPACK_OBJECT_MAP };
    call_t c = { .env = env, .req = req, .caller = caller, .pk = &pk,
                 .args = req->args ? req->args : &empty };
    exf_error_clear (&c.err);
    msgpack_packer out;
    msgpack_packer_init (&out, reply, msgpack_sbuffer_write);
    store_status_t rc = STORE_OK;
    bool idempotent = false, replayed = false;
    uint64_t hash = 0;

    /* Access control before anything is read: a refusal depends on the
     * caller, not the request, so it is neither looked up nor stored. */
    if (!check_caller (cmd, req, caller, &c.err))
        goto answer;

    /* A scoped command's workflow is read once, here: its ledger says
     * where its replies are, the handler works on it, and it is stored
     * once at the end with everything the command changed. */
    if (cmd->scoped && (rc = read_target (&c)))
        goto done;
    /* an unknown workflow's NOT_FOUND is neither looked up nor stored */
    idempotent = cmd->writes && !c.err.code && (!cmd->scoped || c.target);
    if (idempotent) {
        hash = codec_hash (body, body_len, 0);
        if ((rc = replay (&c, hash, reply, &replayed)) || replayed)
            goto done;
    }
    if (!c.err.code && (rc = cmd->handler (&c)))
        goto done;
    if (!c.err.code && c.deferred)
        goto done;                      /* answered later: no reply now */
answer:
    if (c.err.code)
        codec_pack_reply_error (&out, req->id, &c.err);
    else {
        codec_pack_reply_ok_head (&out, req->id);
        codec_pack_raw (&out, result.data, result.size);
    }
    if (idempotent && reply_is_final (&c.err)) {
        rc = store_reply_put (env->change.txn, c.target, req->id,
                              env->change.now_ms, hash, reply->data,
                              reply->size);
        c.changed |= c.target != NULL;
    }
    if (!rc && c.changed)
        rc = store_workflow_put (env->change.txn, c.target);
done:
    store_wf_destroy (&c.target);
    msgpack_sbuffer_destroy (&result);
    return rc;
}
