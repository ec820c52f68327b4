/* users — who may sign in to exitflow-web, and the `passwd` subcommand.
 *
 * Owns: the users file (one line a user, `name:role:hash`, the hash a
 * yescrypt `$y$` string from crypt(3); `#` comments and blank lines
 * allowed; mode 0600), checking a password against it, and writing it
 * atomically. The file is read again when it changes, so `passwd` takes
 * effect without a restart. Names are what the daemon records as `actor`:
 * 1..64 bytes of letters, digits, `.`, `_`, `-` and `@`. */
#ifndef EXF_WEB_USERS_H
#define EXF_WEB_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USER_NAME_MAX 64

typedef enum { ROLE_NONE = 0, ROLE_CASEWORKER, ROLE_OPS } user_role_t;

/* "caseworker", "ops" ("" for ROLE_NONE). */
const char *user_role_name (user_role_t role);
bool user_name_valid (const char *name);

typedef struct users_t users_t;

/* The users of `path`, read now: NULL with the reason in `why` when the
 * file cannot be read or a line is malformed. */
users_t *users_new (const char *path, char *why, size_t cap);
void users_destroy (users_t **self_p);
size_t users_count (users_t *self);

/* The role of `name` when `password` is right, else ROLE_NONE. An unknown
 * name costs the same hash as a known one, so the time does not tell
 * which it was. `stamp` (may be NULL) gets the user's stamp, as
 * users_stamp. Thread-safe. */
user_role_t users_verify (users_t *self, const char *name,
                          const char *password, uint64_t *stamp);
/* A number that changes when `name`'s password or role does, 0 when the
 * file no longer has `name`: a session made under another stamp is over
 * (the file is read again when it changed). Thread-safe. */
uint64_t users_stamp (users_t *self, const char *name);

/* `exitflow-web passwd NAME --role ROLE [--users FILE] [--config FILE]`:
 * argv[0] is "passwd". Returns the exit status. */
int users_passwd_main (int argc, char **argv);

#endif
