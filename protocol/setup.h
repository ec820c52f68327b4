/* setup — what every program checks of its set-up before it starts.
 *
 * Owns: the shape of a ZeroMQ endpoint any exitflow program may use
 * (PROTOCOL.md §1), reading a configuration file as text, where a
 * setting's value comes from (flag, environment, file), and the private
 * directory a program writes client data into. The daemon,
 * the workers and the client library all judge these alike, so a mistake
 * is reported the same way wherever it is made: with its reason, before
 * anything is bound, connected or started. */
#ifndef EXF_SETUP_H
#define EXF_SETUP_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A configuration file larger than this is not one. */
#define SETUP_CONFIG_MAX (1024 * 1024)

/* tcp://HOST:PORT with PORT 1 to 65535 (or * when `bind`), ipc://PATH or
 * inproc://NAME. libzmq would otherwise take tcp://127.0.0.1:99999 as some
 * other port. On refusal writes the reason into `why`. */
bool setup_endpoint_valid (const char *endpoint, bool bind, char *why,
                           size_t cap);

/* The whole of the file at `path` as NUL-terminated UTF-8 text (free it):
 * a regular file of at most SETUP_CONFIG_MAX bytes without NUL bytes (a
 * binary, a directory or /dev/zero is a mistake to report, not an empty
 * configuration). NULL with the reason in `why`. */
char *setup_read_text (const char *path, char *why, size_t cap);

/* An HTTP listening address (exitflowd --http, exitflow-web --listen):
 * ADDRESS:PORT with a numeric IPv4 address or a bracketed [IPv6] one and a
 * port from 1 to 65535 — numeric, so that what is bound is what was
 * written (no name looked up). On refusal `why` says so, naming `flag`
 * and giving `example`. */
bool setup_listen_address (const char *text, const char *flag,
                           const char *example, struct sockaddr_storage *addr,
                           socklen_t *len, char *why, size_t cap);

/* A setting's value, taken in the order every program takes it: the
 * flag's value when given, else the environment variable `env` (when set
 * and not empty; NULL: none), else the configuration's `path`, else its
 * `fallback` path (a key of another section, as the workers and the
 * gateway read the daemon's endpoints; NULL: none). NULL when none has
 * it. `from` says where it came from ("--flag", "ENV", "config PATH"),
 * for the messages that name a wrong value's source. */
const char *setup_setting (const char *flag_value, const char *flag,
                           const char *env, zconfig_t *file,
                           const char *path, const char *fallback,
                           char *from, size_t cap);

/* A directory for files that hold client data (a backup, an export):
 * new (made 0700; its parent must exist) or existing and empty (made
 * 0700), so that what goes in is one run's and private. `*made` says
 * whether it was made here (to remove it again on failure). False with
 * the reason in `why` ("... exists and is not empty"). */
bool setup_private_dir (const char *path, bool *made, char *why, size_t cap);

#endif
