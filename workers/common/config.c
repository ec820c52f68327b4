/* config — worker settings from defaults, the ZPL file and flags.
 * See config.h. */
#include "workers/common/config.h"

#include "protocol/calendar.h"
#include "protocol/setup.h"

#include "clients/exitflow.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "workers/common/wlog.h"

#define BOTH (WORKER_DQ | WORKER_NOTIFY)
#define STR(field) OPT_STR, offsetof (worker_config_t, field), \
                   sizeof ((worker_config_t *) 0)->field
#define ENDPOINT(field) OPT_ENDPOINT, offsetof (worker_config_t, field), \
                        sizeof ((worker_config_t *) 0)->field
#define INT(field) OPT_INT, offsetof (worker_config_t, field), 0
#define ZONE(field) OPT_ZONE, offsetof (worker_config_t, field), \
                    sizeof ((worker_config_t *) 0)->field

/* An endpoint is a string the library must accept before anything
 * connects: a port out of range would reach some other one. A time zone
 * is set as it is read (calendar_set_zone): one the system does not know
 * would silently count days in UTC. */
typedef enum { OPT_STR, OPT_ENDPOINT, OPT_INT, OPT_ZONE } opt_kind_t;

typedef struct {
    const char *flag;               /* --flag VALUE, and `key` in the section */
    const char *key;                /* the key in the section; NULL: `flag` */
    const char *fallback;           /* another ZPL path, or NULL */
    const char *env;                /* read between the flag and the file */
    unsigned programs;
    opt_kind_t kind;
    size_t offset, cap;
    long min;                       /* ints */
    const char *def;                /* NULL: the section's name */
    const char *help;
} setting_t;

static const setting_t settings[] = {
    { "commands", NULL, "exitflowd/commands", NULL, BOTH, ENDPOINT (commands),
      0, WORKER_DEFAULT_COMMANDS, "the daemon's command socket" },
    { "events", NULL, "exitflowd/events", NULL, BOTH, ENDPOINT (events), 0,
      WORKER_DEFAULT_EVENTS, "the daemon's event socket" },
    { "name", NULL, NULL, NULL, BOTH, STR (name), 0, NULL,
      "consumer name: the key of its stored offset" },
    { "source", NULL, NULL, NULL, WORKER_DQ, STR (source), 0, "dq",
      "the source the findings are reported under" },
    { "timeliness-days", NULL, NULL, NULL, WORKER_DQ, INT (timeliness_days), 0,
      "11", "exit_timeliness: warn when recorded this many days late" },
    { "disable", NULL, NULL, NULL, WORKER_DQ, STR (disable), 0, "",
      "rule ids not to evaluate, comma-separated" },
    { "timezone", NULL, "exitflowd/timezone", NULL, WORKER_DQ, ZONE (timezone),
      0, "", "the CoC's time zone, an IANA name: the days of\n"
      "                          APR Q6e and \"today\" (exitflowd/timezone, else\n"
      "                          the system's)" },
    { "ops", NULL, NULL, NULL, WORKER_NOTIFY, STR (ops), 0, "",
      "the ops address every notification also goes to" },
    { "actor-domain", NULL, NULL, NULL, WORKER_NOTIFY, STR (actor_domain), 0, "",
      "SMTP: mail the caseworker at <actor>@DOMAIN" },
    { "from", NULL, NULL, NULL, WORKER_NOTIFY, STR (from), 0,
      "exitflow@localhost", "SMTP sender" },
    { "state", NULL, NULL, NULL, WORKER_NOTIFY, STR (state), 0, "",
      "delivery record (./var/notify-<name>.state)" },
    { "retries", NULL, NULL, NULL, WORKER_NOTIFY, INT (retries), 1, "8",
      "attempts per sink before giving up" },
    { "backoff-ms", NULL, NULL, NULL, WORKER_NOTIFY, INT (backoff_ms), 0, "500",
      "pause after a failed attempt, doubling" },
    { "backoff-max-ms", NULL, NULL, NULL, WORKER_NOTIFY, INT (backoff_max_ms), 0,
      "30000", "longest pause between attempts" },
    { "timeout-ms", NULL, NULL, NULL, WORKER_NOTIFY, INT (timeout_ms), 1, "10000",
      "one HTTP or SMTP exchange" },
    { "cert", NULL, NULL, "EXITFLOW_CERT", BOTH, STR (cert), 0, "",
      "the worker's secret certificate (EXITFLOW_CERT;\n"
      "                          ./var/keys/" WORKER_DEFAULT_CERT_NAME
      "_secret when it exists)" },
    { "server-key", "server_key", NULL, "EXITFLOW_SERVER_KEY", BOTH,
      STR (server_key), 0, "",
      "the daemon's public key: its certificate file or\n"
      "                          40 Z85 characters (EXITFLOW_SERVER_KEY; key\n"
      "                          server_key; ./var/keys/server when it exists)" },
};

#define N_SETTINGS (sizeof settings / sizeof *settings)
#define DEFAULT_SINK "file:./var/notifications.jsonl"

enum { F_CONFIG = 1000, F_SINK, F_VERBOSE, F_HELP };

void
worker_config_usage (unsigned program, FILE *out)
{
    bool dq = program == WORKER_DQ;
    fprintf (out, "usage: %s [--config FILE] [options]\n\n",
             dq ? "exitflow-dq" : "exitflow-notify");
    fprintf (out, "  --config FILE           ZPL config (the daemon's); keys "
             "under `%s`, endpoints\n                          also under "
             "`exitflowd`\n", dq ? "dq" : "notify");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        if (!(s->programs & program))
            continue;
        char left[64];
        snprintf (left, sizeof left, "--%s %s", s->flag,
                  s->kind == OPT_INT ? "N" : s->kind == OPT_ZONE ? "ZONE"
                                                                  : "VALUE");
        const char *def = s->def ? s->def : (dq ? "dq" : "notify");
        fprintf (out, "  %-23s %s%s%s%s\n", left, s->help,
                 def[0] ? " (" : "", def, def[0] ? ")" : "");
    }
    if (!dq)
        fprintf (out, "  --sink SPEC             file:PATH, http://HOST:PORT/"
                 "PATH or smtp://HOST:PORT;\n                          "
                 "repeatable (" DEFAULT_SINK ")\n");
    fprintf (out, "  --verbose               log every event handled\n"
             "  --help\n\nStops cleanly on SIGTERM or SIGINT.\n");
}

/* `value` into its field; `from` says where it came from ("--events",
 * "EXITFLOW_CERT", "config dq/events", "default events"). */
static bool
apply (worker_config_t *cfg, const setting_t *s, const char *value,
       const char *from, FILE *err)
{
    char *dst = (char *) cfg + s->offset;
    exitflow_error_t why;
    if (s->kind == OPT_ENDPOINT && !exitflow_endpoint_check (value, &why)) {
        fprintf (err, "%s: %s: %s\n", cfg->program_name, from, why.message);
        return false;
    }
    if (s->kind != OPT_INT) {
        if (strlen (value) >= s->cap) {
            fprintf (err, "%s: %s is longer than %zu bytes\n",
                     cfg->program_name, from, s->cap - 1);
            return false;
        }
        memcpy (dst, value, strlen (value) + 1);
        char why[256];
        if (s->kind == OPT_ZONE && !calendar_set_zone (value, why, sizeof why)) {
            fprintf (err, "%s: %s: %s\n", cfg->program_name, from, why);
            return false;
        }
        return true;
    }
    int64_t v;
    if (!codec_parse_int (value, s->min, 1000000000, &v)) {
        fprintf (err, "%s: %s takes a whole number >= %ld\n",
                 cfg->program_name, from, s->min);
        return false;
    }
    *(int *) (void *) dst = (int) v;
    return true;
}

static bool
add_sink (worker_config_t *cfg, const char *spec, FILE *err)
{
    if (cfg->n_sinks == WORKER_MAX_SINKS) {
        fprintf (err, "%s: at most %d sinks\n", cfg->program_name,
                 WORKER_MAX_SINKS);
        return false;
    }
    if (strlen (spec) >= WORKER_SINK_SPEC_MAX) {
        fprintf (err, "%s: sink spec too long\n", cfg->program_name);
        return false;
    }
    snprintf (cfg->sinks[cfg->n_sinks++], WORKER_SINK_SPEC_MAX, "%s", spec);
    return true;
}

/* The keys this program reads in its own section: its settings' and
 * `sink` for the notifier. */
static bool
own_key (const worker_config_t *cfg, const char *key)
{
    if (cfg->program == WORKER_NOTIFY && strcmp (key, "sink") == 0)
        return true;
    for (size_t i = 0; i < N_SETTINGS; i++)
        if ((settings[i].programs & cfg->program)
            && strcmp (key, settings[i].key ? settings[i].key
                                            : settings[i].flag) == 0)
            return true;
    return false;
}

/* The --config file as ZPL, or NULL with the reason in `why`: a binary, a
 * directory or /dev/zero is a mistake to report, not an empty config to run
 * on defaults, and a key of the program's own section that it does not
 * know (a typo) would otherwise be ignored silently. The other sections
 * are the daemon's and the other worker's to judge. */
static zconfig_t *
config_file_load (const worker_config_t *cfg, char *why, size_t cap)
{
    char *text = setup_read_text (cfg->config, why, cap);
    if (!text)
        return NULL;
    zconfig_t *file = zconfig_str_load (text);
    if (!file)
        snprintf (why, cap, "not valid ZPL (4 spaces per indent level)");
    free (text);
    zconfig_t *section = file ? zconfig_locate (file, cfg->section) : NULL;
    for (zconfig_t *k = section ? zconfig_child (section) : NULL; k;
         k = zconfig_next (k))
        if (!own_key (cfg, zconfig_name (k))) {
            snprintf (why, cap, "unknown key %s/%.64s", cfg->section,
                      zconfig_name (k));
            zconfig_destroy (&file);
            break;
        }
    return file;
}

/* What neither a flag, the environment nor the file gave comes from
 * ./var/keys/; then both keys must be there and usable, or neither. */
static bool
keys_resolve (worker_config_t *cfg, FILE *err)
{
    exitflow_options_t o = exitflow_options_default ();
    o.cert = cfg->cert;
    o.server_key = cfg->server_key;
    exitflow_options_from_env (&o, WORKER_DEFAULT_CERT_NAME);
    if (o.cert && o.cert != cfg->cert)
        snprintf (cfg->cert, sizeof cfg->cert, "%s", o.cert);
    if (o.server_key && o.server_key != cfg->server_key)
        snprintf (cfg->server_key, sizeof cfg->server_key, "%s", o.server_key);
    exitflow_error_t e;
    if (exitflow_options_check (&o, &e))
        return true;
    bool cert = strcmp (e.field, "cert") == 0;
    fprintf (err, "%s: %s (%s)\n", cfg->program_name, e.message,
             cert ? "--cert FILE, EXITFLOW_CERT, config cert or ./var/keys/"
                    WORKER_DEFAULT_CERT_NAME "_secret"
                  : "--server-key FILE|Z85, EXITFLOW_SERVER_KEY, config "
                    "server_key or ./var/keys/server");
    return false;
}

int
worker_config_load (worker_config_t *cfg, unsigned program, int argc,
                    char **argv, FILE *err)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->program = program;
    cfg->program_name = program == WORKER_DQ ? "exitflow-dq" : "exitflow-notify";
    cfg->section = program == WORKER_DQ ? "dq" : "notify";

    struct option options[N_SETTINGS + 5];
    size_t n = 0;
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].programs & program)
            options[n++] = (struct option) { settings[i].flag,
                                             required_argument, NULL, (int) i };
    options[n++] = (struct option) { "config", required_argument, NULL, F_CONFIG };
    if (program == WORKER_NOTIFY)
        options[n++] = (struct option) { "sink", required_argument, NULL, F_SINK };
    options[n++] = (struct option) { "verbose", no_argument, NULL, F_VERBOSE };
    options[n++] = (struct option) { "help", no_argument, NULL, F_HELP };
    options[n] = (struct option) { NULL, 0, NULL, 0 };

    const char *flag[N_SETTINGS] = { 0 };
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt >= 0 && (size_t) opt < N_SETTINGS)
            flag[opt] = optarg;
        else if (opt == F_CONFIG)
            snprintf (cfg->config, sizeof cfg->config, "%s", optarg);
        else if (opt == F_SINK) {
            if (!add_sink (cfg, optarg, err))
                return 2;
        } else if (opt == F_VERBOSE)
            cfg->verbose = true;
        else if (opt == F_HELP) {
            worker_config_usage (program, stdout);
            return 1;
        } else {
            fprintf (err, "%s: unknown or incomplete option %s\n",
                     cfg->program_name, argv[optind - 1]);
            worker_config_usage (program, err);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (err, "%s: unexpected argument %s\n", cfg->program_name,
                 argv[optind]);
        return 2;
    }

    zconfig_t *file = NULL;
    char why[256];
    if (cfg->config[0] && !(file = config_file_load (cfg, why, sizeof why))) {
        fprintf (err, "%s: cannot use config %s: %s\n", cfg->program_name,
                 cfg->config, why);
        return 2;
    }
    int status = 0;
    for (size_t i = 0; i < N_SETTINGS && !status; i++) {
        const setting_t *s = &settings[i];
        if (!(s->programs & program))
            continue;
        char path[128], from[160];
        snprintf (path, sizeof path, "%s/%s", cfg->section,
                  s->key ? s->key : s->flag);
        const char *value = setup_setting (flag[i], s->flag, s->env, file,
                                           path, s->fallback, from,
                                           sizeof from);
        if (!value) {
            value = s->def ? s->def : cfg->section;
            snprintf (from, sizeof from, "default %s", s->flag);
        }
        if (!apply (cfg, s, value, from, err))
            status = 2;
    }
    if (!status && program == WORKER_NOTIFY && cfg->n_sinks == 0 && file) {
        zconfig_t *sec = zconfig_locate (file, cfg->section);
        for (zconfig_t *c = sec ? zconfig_child (sec) : NULL; c && !status;
             c = zconfig_next (c))
            if (strcmp (zconfig_name (c), "sink") == 0 && zconfig_value (c)
                && !add_sink (cfg, zconfig_value (c), err))
                status = 2;
    }
    zconfig_destroy (&file);
    if (status)
        return status;
    if (program == WORKER_NOTIFY && cfg->n_sinks == 0)
        add_sink (cfg, DEFAULT_SINK, err);
    if (!cfg->name[0] || !cfg->commands[0] || !cfg->events[0]) {
        fprintf (err, "%s: --name, --commands and --events must not be "
                 "empty\n", cfg->program_name);
        return 2;
    }
    if (!keys_resolve (cfg, err))
        return 2;
    if (program == WORKER_NOTIFY && !cfg->state[0]) {
        int w = snprintf (cfg->state, sizeof cfg->state,
                          "./var/notify-%s.state", cfg->name);
        (void) w;
    }
    return 0;
}

int
worker_config_start (worker_config_t *cfg, unsigned program, int argc,
                     char **argv)
{
    int rc = worker_config_load (cfg, program, argc, argv, stderr);
    if (rc)
        return rc == 1 ? 0 : 2;
    wlog_init (cfg->program_name);
    return -1;
}
