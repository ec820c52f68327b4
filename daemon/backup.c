/* backup — online backups of the store. See backup.h.
 *
 * The copy is LMDB's compacting copy (store_copy) written into a file
 * this module opens itself, O_EXCL and 0600, in a directory it makes
 * 0700: mdb_env_copy2 would create the file 0666 less the umask. The
 * thread owns the job's fields from its start until it writes its byte to
 * the signal pipe; the loop reads them only after joining it. Everything
 * else — the waiting requests, the last answer — is the loop's alone. */
#define _GNU_SOURCE                 /* pipe2 */
#include "backup.h"

#include "protocol/setup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pack.h"

#define COPY_FILE "data.mdb"
/* Requests waiting for one copy: its own and retries of it. */
#define WAITERS_MAX 8
/* Envelope frames a waiting request keeps (the server takes no more). */
#define WAITER_FRAMES 8

typedef struct {
    zmq_msg_t frames[WAITER_FRAMES];
    int n;
    int fd;
    int64_t received_us;
} waiter_t;

struct backup_t {
    store_t *store;
    int signal[2];                  /* the thread writes a byte when done */
    bool running;                   /* from backup_start to backup_finish */
    bool answered;                  /* the last copy's answer is below */
    pthread_t thread;
    /* the job: whose request, where to */
    char id[EXF_ID_MAX + 1];
    size_t id_len;
    char dir[BACKUP_DIR_MAX + 2];
    char path[BACKUP_DIR_MAX + sizeof COPY_FILE + 2];
    bool made_dir;                  /* made here: removed if the copy fails */
    int fd;
    int64_t started_ms;
    /* the thread's answer, read once it is joined */
    store_status_t status;
    uint64_t last_seq, bytes;
    int64_t took_ms;
    char why[BACKUP_DIR_MAX + 256];
    waiter_t waiters[WAITERS_MAX];
    int n_waiters;
};

static int64_t
mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

backup_t *
backup_new (store_t *store)
{
    backup_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->fd = -1;
    if (pipe2 (self->signal, O_CLOEXEC | O_NONBLOCK)) {
        free (self);
        return NULL;
    }
    return self;
}

static void
drop_waiters (backup_t *self)
{
    for (int i = 0; i < self->n_waiters; i++)
        for (int f = 0; f < self->waiters[i].n; f++)
            zmq_msg_close (&self->waiters[i].frames[f]);
    self->n_waiters = 0;
}

/* The copy's thread is done: joined, its file closed, the map free. */
static void
end_copy (backup_t *self)
{
    pthread_join (self->thread, NULL);
    store_copy_release (self->store);
    close (self->fd);
    self->fd = -1;
    self->running = false;
    char byte;
    while (read (self->signal[0], &byte, 1) > 0)
        ;
}

void
backup_destroy (backup_t **self_p)
{
    backup_t *self = *self_p;
    if (!self)
        return;
    if (self->running) {
        log_line ("info", "waiting for the backup into %s to end", self->dir);
        end_copy (self);
    }
    drop_waiters (self);
    close (self->signal[0]);
    close (self->signal[1]);
    free (self);
    *self_p = NULL;
}

int
backup_signal_fd (const backup_t *self)
{
    return self->signal[0];
}

/* ---- the thread ---- */

static void *
copy_main (void *arg)
{
    backup_t *self = arg;
    int64_t started = mono_ms ();
    self->status = store_copy (self->store, self->fd, self->path,
                               &self->last_seq, self->why, sizeof self->why);
    struct stat st;
    if (!self->status && fstat (self->fd, &st) == 0)
        self->bytes = (uint64_t) st.st_size;
    /* the new names, durable too: the directory's entries */
    int dir = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!self->status && (dir < 0 || fsync (dir))) {
        self->status = STORE_FAULT;
        snprintf (self->why, sizeof self->why, "cannot sync %s: %s",
                  self->dir, strerror (errno));
    }
    if (dir >= 0)
        close (dir);
    self->took_ms = mono_ms () - started;
    if (write (self->signal[1], "", 1) < 0)
        abort ();                   /* the loop would wait for ever */
    return NULL;
}

/* ---- starting ---- */

/* `dir` as an absolute path in `out`: relative to the working directory. */
static bool
resolve (const char *dir, char *out, size_t cap, exf_error_t *err)
{
    char cwd[BACKUP_DIR_MAX + 1] = "";
    if (dir[0] != '/' && !getcwd (cwd, sizeof cwd))
        return exf_fail (err, EXF_VALIDATION, "dir", "the daemon's working "
                         "directory cannot be told (%s): give an absolute "
                         "path", strerror (errno));
    size_t n = (size_t) snprintf (out, cap, "%s%s%s", cwd, cwd[0] ? "/" : "",
                                  dir);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    if (n >= cap || n > BACKUP_DIR_MAX)
        return exf_fail (err, EXF_VALIDATION, "dir", "the backup directory's "
                         "path is longer than %d bytes", BACKUP_DIR_MAX);
    return true;
}

/* The backup's directory, for the daemon's user alone: made, or an empty
 * one made private. */
static bool
make_dir (backup_t *self, exf_error_t *err)
{
    char why[BACKUP_DIR_MAX + 160];
    if (setup_private_dir (self->dir, &self->made_dir, why, sizeof why))
        return true;
    return exf_fail (err, EXF_VALIDATION, "dir", "%s", why);
}

/* The copy's file, new, readable by the daemon's user alone whatever the
 * umask. */
static bool
open_copy (backup_t *self, exf_error_t *err)
{
    snprintf (self->path, sizeof self->path, "%s/%s", self->dir, COPY_FILE);
    self->fd = open (self->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                     0600);
    if (self->fd >= 0 && fchmod (self->fd, 0600) == 0)
        return true;
    exf_fail (err, EXF_VALIDATION, "dir", "cannot create %s: %s", self->path,
              strerror (errno));
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    return false;
}

/* What a failed copy left: its file, and the directory when it was made
 * here, so that the same request can simply be made again. */
static void
remove_copy (backup_t *self)
{
    unlink (self->path);
    if (self->made_dir)
        rmdir (self->dir);
}

static bool
same_request (const backup_t *self, exf_str_t id, const char *dir)
{
    return id.len == self->id_len && !memcmp (id.ptr, self->id, id.len)
           && (!dir || !strcmp (dir, self->dir));
}

bool
backup_start (backup_t *self, exf_str_t id, const char *dir,
              exf_error_t *err)
{
    char path[sizeof self->dir];
    if (!resolve (dir, path, sizeof path, err))
        return false;
    if ((self->running || self->answered) && same_request (self, id, path))
        return true;                /* a retry: the same copy's answer */
    if (self->running)
        return exf_fail (err, EXF_CONFLICT, NULL, "a backup is running (into "
                         "%s, for %llds): one at a time", self->dir,
                         (long long) ((mono_ms () - self->started_ms) / 1000));
    self->answered = false;
    memcpy (self->dir, path, sizeof self->dir);
    self->id_len = id.len < EXF_ID_MAX ? id.len : EXF_ID_MAX;
    memcpy (self->id, id.ptr, self->id_len);
    if (!make_dir (self, err))
        return false;
    if (!open_copy (self, err)) {
        remove_copy (self);
        return false;
    }
    self->status = STORE_FAULT;
    self->bytes = self->last_seq = 0;
    self->started_ms = mono_ms ();
    store_copy_hold (self->store);
    int rc = pthread_create (&self->thread, NULL, copy_main, self);
    if (rc) {
        store_copy_release (self->store);
        close (self->fd);
        self->fd = -1;
        remove_copy (self);
        return exf_fail (err, EXF_UNAVAILABLE, NULL, "cannot start the "
                         "backup: %s", strerror (rc));
    }
    self->running = true;
    log_line ("info", "backup started: into %s", self->dir);
    return true;
}

/* ---- answering ---- */

static void
pack_answer (const backup_t *self, exf_str_t id, msgpack_sbuffer *reply)
{
    msgpack_sbuffer_clear (reply);
    msgpack_packer pk;
    msgpack_packer_init (&pk, reply, msgpack_sbuffer_write);
    if (self->status == STORE_OK) {
        codec_pack_reply_ok_head (&pk, id);
        msgpack_pack_map (&pk, 3);
        pack_kv_str (&pk, "dir", self->dir);
        pack_kv_int (&pk, "bytes", (int64_t) self->bytes);
        pack_kv_int (&pk, "last_seq", (int64_t) self->last_seq);
        return;
    }
    exf_error_t err;
    exf_error_clear (&err);
    exf_fail (&err, self->status == STORE_FULL ? EXF_UNAVAILABLE
                                               : EXF_INTERNAL,
              NULL, "the backup failed: %s", self->why);
    codec_pack_reply_error (&pk, id, &err);
}

static void
pack_error (exf_str_t id, const char *code, const char *message,
            msgpack_sbuffer *reply)
{
    exf_error_t err;
    exf_error_clear (&err);
    exf_fail (&err, code, NULL, "%s", message);
    msgpack_sbuffer_clear (reply);
    msgpack_packer pk;
    msgpack_packer_init (&pk, reply, msgpack_sbuffer_write);
    codec_pack_reply_error (&pk, id, &err);
}

bool
backup_wait (backup_t *self, exf_str_t id, zmq_msg_t *envelope, int n,
             int fd, int64_t received_us, msgpack_sbuffer *reply)
{
    if (!self->running && self->answered && same_request (self, id, NULL)) {
        pack_answer (self, id, reply);
        return false;
    }
    if (!self->running || !same_request (self, id, NULL) || n > WAITER_FRAMES) {
        pack_error (id, EXF_INTERNAL, "the backup's answer was lost: ask "
                    "again", reply);
        return false;
    }
    if (self->n_waiters == WAITERS_MAX) {
        pack_error (id, EXF_UNAVAILABLE, "too many requests wait for this "
                    "backup: ask again when it is done", reply);
        return false;
    }
    waiter_t *w = &self->waiters[self->n_waiters++];
    w->n = n;
    w->fd = fd;
    w->received_us = received_us;
    for (int f = 0; f < n; f++) {
        zmq_msg_init (&w->frames[f]);
        zmq_msg_move (&w->frames[f], &envelope[f]);
    }
    return true;
}

void
backup_finish (backup_t *self, backup_send_fn *send, void *arg)
{
    if (!self->running)
        return;
    end_copy (self);
    /* a retry of a failed copy tries again */
    self->answered = self->status == STORE_OK;
    if (self->status == STORE_OK)
        log_line ("info", "backup done: %s, %llu bytes, last seq %llu, in "
                  "%lld ms", self->dir, (unsigned long long) self->bytes,
                  (unsigned long long) self->last_seq,
                  (long long) self->took_ms);
    else {
        log_line ("error", "backup into %s failed: %s", self->dir, self->why);
        remove_copy (self);
    }
    exf_str_t id = { self->id, (uint32_t) self->id_len };
    msgpack_sbuffer reply;
    msgpack_sbuffer_init (&reply);
    pack_answer (self, id, &reply);
    for (int i = 0; i < self->n_waiters; i++)
        send (arg, self->waiters[i].frames, self->waiters[i].n, reply.data,
              reply.size, self->waiters[i].fd, self->waiters[i].received_us);
    msgpack_sbuffer_destroy (&reply);
    drop_waiters (self);
}
