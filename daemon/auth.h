/* auth — who is calling: CURVE authentication and the principal behind a
 * connection.
 *
 * Owns: the zauth actor (the ZAP handler that lets only known client keys
 * connect), the server's certificate, and the mapping from an authenticated
 * client key (the ZAP "User-Id", its Z85 public key) to a principal: the
 * certificate's `name` and `role` metadata. The mapping is read from the
 * daemon's own certificate store, not from what zauth passes along, and is
 * looked up again at most once a second per key, so removing a certificate
 * file revokes the key for new connections (zauth) and for the ones already
 * open (here) without a restart.
 *
 * Without a certificate directory the daemon runs in local mode: loopback
 * endpoints only, every caller is principal "local" with role admin. */
#ifndef EXF_AUTH_H
#define EXF_AUTH_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "caller.h"

typedef struct auth_t auth_t;

/* Local mode when `certs_dir` is NULL (then `server_cert` must be NULL
 * too). Otherwise checks `certs_dir` and loads the server's secret
 * certificate; starts no thread. On failure returns NULL with the reason in
 * `why`. */
auth_t *auth_new (const char *certs_dir, const char *server_cert, char *why,
                  size_t cap);
/* Starts zauth on the certificate directory (nothing in local mode). Kept
 * apart from auth_new so that the store's start-up check, which forks, runs
 * while the process has one thread: a child forked beside other threads
 * may find a lock (an allocator's) held for ever. */
bool auth_start (auth_t *self, char *why, size_t cap);
void auth_destroy (auth_t **self_p);

bool auth_is_local (const auth_t *self);

/* Checks that `endpoint` may be bound in this mode (local mode: loopback
 * only). On refusal writes the reason into `why`. */
bool auth_endpoint_allowed (const auth_t *self, const char *endpoint,
                            char *why, size_t cap);

/* Makes `sock` a CURVE server under zauth (no-op in local mode). Call before
 * binding. */
void auth_apply_server (const auth_t *self, zsock_t *sock);

/* True when a key that was a known certificate at the last call is one no
 * longer (its file was deleted or changed). Cheap when nothing changed: it
 * looks at the directory's modification time, and reads the certificates
 * only when that moved. The server calls it once a second and makes the
 * event socket's subscribers connect again, so a revoked subscriber is
 * refused by zauth on its next handshake. Always false in local mode. */
bool auth_keys_revoked (auth_t *self);

/* The caller of a message whose frame carries `user_id` (the frame's
 * "User-Id" property; NULL in local mode). False when the key is not (or no
 * longer) a known certificate with a valid role: such a peer gets no
 * reply. */
bool auth_caller (auth_t *self, const char *user_id, int64_t now_ms,
                  caller_t *out);

#endif
