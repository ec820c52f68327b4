/* cli.h — what the modules of the exitflow CLI share: the run context, the
 * subcommand table's row type, option parsing, error reporting and exit
 * statuses, JSON conversion, and the formatters. */
#ifndef EXITFLOW_CLI_H
#define EXITFLOW_CLI_H

#include "clients/exitflow.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "protocol/codec.h"

/* Exit statuses (the contract). */
enum {
    EXIT_OK = 0,            /* done */
    EXIT_REFUSED = 1,       /* the daemon refused (or a bad reply) */
    EXIT_USAGE = 2,         /* the command line is wrong */
    EXIT_UNREACHABLE = 3,   /* no reply within the timeout, after retries */
};

#define CLI_DEFAULT_ENDPOINT EXF_DEFAULT_COMMANDS
#define CLI_DEFAULT_EVENTS   EXF_DEFAULT_EVENTS
#define CLI_DEFAULT_TIMEOUT_MS 2000
#define CLI_DEFAULT_RETRIES    2
/* The certificate found in ./var/keys/ or /etc/exitflow/keys/ when none
 * is given. */
#define CLI_DEFAULT_CERT_NAME  "admin"

/* " frontend worker ops admin": the roles table's names (keygen). */
#define CLI_ROLE_WORD(id, word) " " word
#define CLI_ROLE_WORDS EXF_ROLE_LIST (CLI_ROLE_WORD)

/* The key options in --help, the overview's and every command's. */
#define CLI_KEY_OPTIONS_HELP \
    "  --cert FILE           your secret certificate (EXITFLOW_CERT, else\n" \
    "                        " CLI_DEFAULT_CERT_NAME "_secret in ./var/keys/, else in\n" \
    "                        /etc/exitflow/keys/, the first that exists)\n" \
    "  --server-key KEY      the daemon's public key: its certificate file or\n" \
    "                        40 Z85 characters (EXITFLOW_SERVER_KEY, else\n" \
    "                        server in ./var/keys/, else /etc/exitflow/keys/);\n" \
    "                        with neither key, no CURVE (a daemon in local mode)\n"

typedef struct cli_s cli_t;
typedef int (cli_handler_fn) (cli_t *cli, int argc, char **argv);

/* Where a field the daemon names in a refusal came from on this command's
 * line: `field` is an fnmatch(3) pattern over the wire's path
 * (`members*.entry_date` matches members.0.entry_date and
 * members[client_id=C7].entry_date), `flag` what the user typed; a "%s"
 * in it is replaced by the path's last name. */
typedef struct {
    const char *field;
    const char *flag;
} cli_field_flag_t;

/* One row of the subcommand table. */
typedef struct {
    const char *name;           /* "list", "events tail" */
    cli_handler_fn *run;
    const char *synopsis;       /* what follows the name in a usage line */
    const char *summary;        /* one line for `exitflow --help` */
    const char *help;           /* the command's own options, one per line */
    const char *fields;         /* what it reads or prints, one per line */
    const char *example;        /* command lines to copy, one per line */
    const cli_field_flag_t *flags;  /* wire field → flag; NULL-terminated */
} cli_command_t;

struct cli_s {
    const char *endpoint;       /* --endpoint, EXITFLOW_ENDPOINT */
    const char *events;         /* --events, EXITFLOW_EVENTS */
    const char *actor;          /* --actor, EXITFLOW_ACTOR */
    const char *cert;           /* --cert (else the environment, ./var/keys) */
    const char *server_key;     /* --server-key (likewise) */
    int timeout_ms;             /* --timeout, EXITFLOW_TIMEOUT_MS */
    int retries;                /* --retries, EXITFLOW_RETRIES */
    int rcvhwm;                 /* EXITFLOW_RCVHWM: SUB tuning (tests) */
    bool json;                  /* --json */
    bool args_from_file;        /* the request came from a JSON file: its
                                   fields are the wire's, no flag to name */
    const cli_command_t *command;
    exitflow_client_t *client;  /* made on first use */
    int status;                 /* set when option parsing stops the run */
};

/* ---- the table (exitflow.c) and the handlers ---- */

int cmd_start (cli_t *, int, char **);
int cmd_show (cli_t *, int, char **);
int cmd_codes (cli_t *, int, char **);
int cmd_save (cli_t *, int, char **);
int cmd_decide (cli_t *, int, char **);
int cmd_finish (cli_t *, int, char **);
int cmd_cancel (cli_t *, int, char **);
int cmd_list (cli_t *, int, char **);
int cmd_history (cli_t *, int, char **);
int cmd_events_tail (cli_t *, int, char **);
int cmd_consumers (cli_t *, int, char **);
int cmd_ack (cli_t *, int, char **);
int cmd_stats (cli_t *, int, char **);
int cmd_ping (cli_t *, int, char **);
int cmd_backup (cli_t *, int, char **);
int cmd_export (cli_t *, int, char **);     /* export.c */
int cmd_dq (cli_t *, int, char **);
int cmd_dq_report (cli_t *, int, char **);   /* runs exitflow-dq report */
int cmd_demo (cli_t *, int, char **);
int cmd_keygen (cli_t *, int, char **);

/* ---- options and errors (args.c) ---- */

/* getopt_long over the common options plus `own` (terminated by a zero
 * row). Returns an own option's `val`, 0 when the options are done (the
 * positionals start at `optind`), or CLI_STOP when the run ends here:
 * --help printed (status 0) or a usage error printed (status 2). */
#define CLI_STOP (-2)
int cli_getopt (cli_t *cli, int argc, char **argv, const struct option *own);
/* Parses the global options before the subcommand name: returns the index
 * of the name, CLI_HELP for --help, or -1 when the run ends (status). */
#define CLI_HELP (-3)
int cli_global_options (cli_t *cli, int argc, char **argv);
void cli_defaults (cli_t *cli);

/* Prints "exitflow CMD: message" and the usage line to stderr; returns 2. */
int cli_usage_error (cli_t *cli, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void cli_print_help (const cli_t *cli, const cli_command_t *cmd, FILE *out);
/* Checks the number of positionals; prints the usage error when wrong. */
bool cli_positionals (cli_t *cli, int argc, char **argv, int min, int max);
/* Integer option values: a usage error when not an integer in range. */
bool cli_int_arg (cli_t *cli, const char *option, const char *text,
                  int64_t min, int64_t max, int64_t *out);

/* The command client, made on first use; NULL (and status 2) when the
 * endpoint is not a ZeroMQ endpoint. */
exitflow_client_t *cli_client (cli_t *cli);
/* The common options only, `min` to `max` positionals, then the command
 * client: the start of most reads. NULL when the run ends here (status). */
exitflow_client_t *cli_simple_start (cli_t *cli, int argc, char **argv,
                                     int min, int max);
/* The library's options from the common options; the keys resolved by
 * exitflow_options_from_env (flag, environment, ./var/keys). */
exitflow_options_t cli_options (const cli_t *cli);
/* Whether `o`'s keys are usable; a usage error naming the key, the file
 * and where it can be given when not (status 2). */
bool cli_keys_ok (cli_t *cli, const exitflow_options_t *o);
/* Whether `endpoint` (given by `option` or the variable `env`) can be
 * connected to; a usage error saying why when not. */
bool cli_endpoint_ok (cli_t *cli, const char *endpoint, const char *option,
                      const char *env);
/* Reports a failed call on stderr; returns 3 for UNREACHABLE, 2 for
 * TOO_LARGE (refused before sending), else 1. */
int cli_fail (cli_t *cli, const exitflow_error_t *err);

/* The flag of this command that `field` (a refusal's, the wire's path)
 * came from, written into `buf`; false when none maps to it. */
bool cli_field_flag (const cli_t *cli, const char *field, char *buf,
                     size_t cap);

/* Prints a call's result for people; `arg` is the command's own. */
typedef void (cli_text_fn) (cli_t *cli, const msgpack_object *result,
                            const void *arg);
/* The end of a command that made one call: cli_fail (`err`) when `reply`
 * is NULL, else the result as JSON (--json) or through `text`, then the
 * reply destroyed. Returns the exit status. */
int cli_reply (cli_t *cli, exitflow_reply_t *reply, const exitflow_error_t *err,
               cli_text_fn *text, const void *arg);

/* ---- JSON (json.c) ---- */

/* JSON text, "@file" or "@-" (stdin) → a value; NULL after printing a
 * usage error (status 2). */
json_t *cli_json_arg (cli_t *cli, const char *option, const char *text);
/* Prints a msgpack object as indented JSON on stdout. */
void cli_print_json (const msgpack_object *o);
/* As one line (JSON Lines, for streams). */
void cli_print_json_line (const msgpack_object *o);
/* A JSON document made here, indented on stdout; the reference is taken. */
void cli_print_json_doc (json_t *doc);
/* A JSON value into malloc'd msgpack bytes (free them). */
char *cli_msgpack_from_json (const json_t *j, size_t *len);

/* ---- formatting (format.c) ---- */

/* A str field, or `dflt` when absent or not a string; either way copied
 * into `buf` (NULL, and `buf` untouched, when absent and `dflt` is NULL). */
const char *mp_str (const msgpack_object *map, const char *key, char *buf,
                    size_t cap, const char *dflt);
int64_t mp_int (const msgpack_object *map, const char *key, int64_t dflt);
/* The elements of an array field and their count; NULL and 0 when absent
 * or not an array. */
const msgpack_object *mp_array (const msgpack_object *map, const char *key,
                                uint32_t *n);
bool mp_is_str (const msgpack_object *o, const char *s);

/* Prints times in the CoC's zone from now on: the daemon's (stats
 * `timezone`) when it can be asked and names a zone of this system, else
 * this system's own. Returns the zone's name, for saying which. */
const char *cli_coc_zone (cli_t *cli);

/* RFC 3339 UTC with milliseconds → ms since the epoch. */
bool fmt_parse_time (const char *text, int64_t *ms);
/* Local time with strftime's `format` ("%Y-%m-%d %H:%M"); "-" when the
 * time cannot be read. */
void fmt_local_time (const char *rfc3339, const char *format, char *buf,
                     size_t cap);
/* "3d4h", "5h12m", "12m", "45s". */
void fmt_duration (int64_t seconds, char *buf, size_t cap);
/* "45", "45s", "12m", "24h", "3d", "1h30m" → seconds. */
bool fmt_parse_duration (const char *text, int64_t *seconds);
int64_t fmt_now_ms (void);
/* Today's UTC date "YYYY-MM-DD", `offset_days` from now. */
void fmt_utc_date (int offset_days, char out[11]);
/* ---- events for people (event_text.c) ---- */

/* One line per event: seq, ts, type, workflow, client, then what the
 * event says, every value in words (codes with their HUD labels). */
void fmt_event_line (FILE *out, const msgpack_object *event);

/* An aligned table of text cells. */
typedef struct table_s table_t;
table_t *table_new (int columns);
/* Adds a row of `columns` strings (copied). */
void table_row (table_t *self, ...);
void table_print (const table_t *self, FILE *out);
void table_destroy (table_t **self_p);

/* ---- the sample household (sample.c) ---- */

typedef struct {
    char household[40];
    char hoh[40], spouse[40], child[40];
    char e_hoh[40], e_spouse[40], e_child[40];
    char entry[11], entry_child[11], move_in[11];
    char born_hoh[11], born_spouse[11], born_child[11];
} sample_t;

/* Fresh ids and dates relative to today. */
void sample_new (sample_t *h);
/* Its workflow.start arguments (a new JSON object), with every member's
 * prior values for Default Last: what `start --example` prints. */
json_t *sample_start_args (const sample_t *h);
/* `step` (a hud_step_id_t) with every coded question answered no. */
json_t *sample_form_all_no (int step);
/* `form` with the source `name` yes, its group's "from any source" yes
 * and, for income, its monthly `amount` added to the total. */
json_t *sample_with_source (json_t *form, int step, const char *name,
                            double amount);
/* The exit form: yesterday, to 410, for `reason`. */
json_t *sample_exit_form (const char *reason);

/* ---- the workflow view (show.c) ---- */

/* `zone`: the zone times are printed in (cli_coc_zone), named in the
 * view. */
void show_render (FILE *out, const msgpack_object *view, const char *zone);

#endif
