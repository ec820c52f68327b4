/* backup — online backups of the store (store.backup, PROTOCOL.md §3).
 *
 * Owns: the one backup that may run at a time; its directory and file,
 * made for the daemon's user alone (0700 and 0600: the copy holds client
 * data, and LMDB's own mdb_env_copy2 would leave it 0644); the thread that
 * writes the copy (store_copy, a compacted snapshot from a read
 * transaction of its own) while the loop goes on serving; the requests
 * waiting for its answer, which the loop sends when the thread is done;
 * and that answer, kept for a retry of the same request.
 *
 * The command runs inside a batch like any other and starts the copy
 * (backup_start); its request is answered later: the server hands the
 * request's envelope over after the batch (backup_wait), and when the
 * thread signals (backup_signal_fd) the loop sends the answer
 * (backup_finish). Nothing here blocks the loop. */
#ifndef EXF_BACKUP_H
#define EXF_BACKUP_H

#include <zmq.h>

#include "protocol/codec.h"

#include "store.h"

/* The longest `dir` taken, in bytes. */
#define BACKUP_DIR_MAX 1024

typedef struct backup_t backup_t;

backup_t *backup_new (store_t *store);
/* Waits for a copy in progress to end (its snapshot holds the map), and
 * drops the requests still waiting for it. */
void backup_destroy (backup_t **self_p);

/* Starts a copy into `dir` (relative paths are taken from the daemon's
 * working directory): a directory that does not exist is made (0700), an
 * empty one is used (made 0700); one that exists and is not empty, or
 * that cannot be made, is refused (VALIDATION, field dir). While a copy
 * runs another is refused (CONFLICT); a retry of the running copy's
 * request (the same id, the same dir) joins it, and one of the last
 * copy's gets its answer. True when the request is to wait for its
 * answer (backup_wait). Runs on the loop's thread. */
bool backup_start (backup_t *self, exf_str_t id, const char *dir,
                   exf_error_t *err);

/* After the batch: a request backup_start took waits for the copy's
 * answer, its envelope (`n` frames, moved out: the caller's are left
 * empty), connection and `received_us` (the server's clock when it read
 * the request, handed back to `send`) kept. False, with the reply to send
 * now packed in `reply`, when the answer is already known (a retry of a
 * finished copy) or nothing waits for this request. */
bool backup_wait (backup_t *self, exf_str_t id, zmq_msg_t *envelope, int n,
                  int fd, int64_t received_us, msgpack_sbuffer *reply);

/* Readable when the copy's thread is done: poll it with the sockets. */
int backup_signal_fd (const backup_t *self);

/* Sends a reply to a waiting request: the envelope's `n` frames (they
 * stay the caller's), then the body; `fd` is the request's connection,
 * `received_us` what backup_wait was given. */
typedef void (backup_send_fn) (void *arg, zmq_msg_t *envelope, int n,
                               const void *reply, size_t len, int fd,
                               int64_t received_us);

/* When the signal fd is readable: ends the copy (its thread joined, the
 * map free to grow again), logs it, and answers every waiting request
 * through `send`. */
void backup_finish (backup_t *self, backup_send_fn *send, void *arg);

#endif
