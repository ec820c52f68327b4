/* config — the workers' settings: defaults, the config file, flags.
 *
 * Owns: every setting of exitflow-dq and exitflow-notify in one table (flag,
 * key in the ZPL file, which program, default), and reading them. The file
 * is the daemon's (deploy/exitflow.cfg, czmq ZPL): the endpoints come from
 * the worker's section, else from `exitflowd`; the rest from `dq` or
 * `notify` (exitflow-dq's `timezone`: `dq`, else `exitflowd`, as the
 * endpoints). Flags override the file, the file overrides the defaults. The
 * CURVE keys (--cert, --server-key; keys `cert`, `server_key`) follow the
 * rule of every exitflow program: flag, environment (EXITFLOW_CERT,
 * EXITFLOW_SERVER_KEY), file, then ./var/keys/worker_secret and
 * ./var/keys/server when they exist; both or neither. */
#ifndef EXF_WORKER_CONFIG_H
#define EXF_WORKER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "protocol/codec.h"

#define WORKER_DQ 1u
#define WORKER_NOTIFY 2u
#define WORKER_MAX_SINKS 8
#define WORKER_SINK_SPEC_MAX 512        /* bytes with the NUL, as sink.h's */
#define WORKER_ADDR_MAX 256             /* a mail address, as notification.h's */
/* Where exitflowd listens unless told otherwise. */
#define WORKER_DEFAULT_COMMANDS EXF_DEFAULT_COMMANDS
#define WORKER_DEFAULT_EVENTS EXF_DEFAULT_EVENTS
/* The certificate found in ./var/keys/ when none is given. */
#define WORKER_DEFAULT_CERT_NAME "worker"

typedef struct {
    unsigned program;               /* WORKER_DQ or WORKER_NOTIFY */
    const char *program_name;       /* "exitflow-dq" */
    const char *section;            /* "dq" or "notify" */
    char config[1024];              /* --config FILE, "" none */
    char commands[256];
    char events[256];
    char name[65];                  /* the consumer name */
    char cert[1024];                /* the secret certificate, "" none */
    char server_key[1024];          /* the daemon's public key, "" none */
    bool verbose;
    /* exitflow-dq */
    char source[65];                /* the findings' source ("dq") */
    int timeliness_days;            /* exit_timeliness threshold (11) */
    char disable[512];              /* rule ids to skip, comma-separated */
    char timezone[64];              /* the CoC's zone, "" the system's; set
                                       (calendar_set_zone) when loaded */
    /* exitflow-notify */
    int n_sinks;
    char sinks[WORKER_MAX_SINKS][WORKER_SINK_SPEC_MAX];
    char ops[WORKER_ADDR_MAX];
    char actor_domain[WORKER_ADDR_MAX];
    char from[WORKER_ADDR_MAX];
    char state[1024];               /* "" → ./var/notify-<name>.state */
    int retries;                    /* attempts per sink and notification */
    int backoff_ms;
    int backoff_max_ms;
    int timeout_ms;
} worker_config_t;


/* Fills `cfg` from defaults, the --config file and the flags. Returns 0 to
 * run, 1 when --help was printed (exit 0), 2 on a usage or file error —
 * unusable keys too (printed to `err`; exit 2). */
int worker_config_load (worker_config_t *cfg, unsigned program, int argc,
                        char **argv, FILE *err);
void worker_config_usage (unsigned program, FILE *out);
/* The start of a worker's main: worker_config_load (mistakes to stderr),
 * then the log named after the program. Returns -1 to go on, else the exit
 * status (0 after --help, 2 after a mistake). */
int worker_config_start (worker_config_t *cfg, unsigned program, int argc,
                         char **argv);

#endif
