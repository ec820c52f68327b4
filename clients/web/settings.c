/* settings — exitflow-web's settings from defaults, the ZPL file and flags.
 * See settings.h. */
#include "settings.h"

#include "protocol/codec.h"
#include "protocol/setup.h"

#include "clients/exitflow.h"

#include <czmq.h>
#include <getopt.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#define PROGRAM "exitflow-web"
#define SECTION "web"

/* How a value is checked: an endpoint must be one libexitflow accepts
 * (a port out of range would reach another one); a key file defaults to
 * the checkout's ./var/keys/ only when that file exists. */
typedef enum { K_STR, K_INT, K_ENDPOINT, K_KEYFILE } kind_t;

typedef struct {
    const char *flag;               /* --flag VALUE and the key in `web` */
    const char *fallback;           /* another ZPL path, or NULL */
    const char *env;                /* read between the flag and the file */
    kind_t kind;
    size_t offset, cap;
    long min, max;                  /* ints */
    const char *def;                /* a default ("" none) */
    const char *help;
} setting_t;

#define STR(field) offsetof (web_settings_t, field), \
                   sizeof ((web_settings_t *) 0)->field
#define INT(field) offsetof (web_settings_t, field), 0

static const setting_t settings[] = {
    { "listen", NULL, NULL, K_STR, STR (listen), 0, 0, "127.0.0.1:8080",
      "ADDRESS:PORT to serve on (numeric IPv4, or [IPv6])" },
    { "tls-cert", NULL, NULL, K_STR, STR (tls_cert), 0, 0, "",
      "PEM certificate: serve HTTPS (with --tls-key)" },
    { "tls-key", NULL, NULL, K_STR, STR (tls_key), 0, 0, "",
      "PEM private key of --tls-cert" },
    { "users", NULL, NULL, K_STR, STR (users), 0, 0, "./var/web-users",
      "the users file (exitflow-web passwd writes it)" },
    { "static", NULL, NULL, K_STR, STR (static_dir), 0, 0,
      "clients/web/static", "the pages' directory" },
    { "commands", "exitflowd/commands", NULL, K_ENDPOINT, STR (commands), 0, 0,
      EXF_DEFAULT_COMMANDS, "the daemon's command socket" },
    { "events", "exitflowd/events", NULL, K_ENDPOINT, STR (events), 0, 0,
      EXF_DEFAULT_EVENTS, "the daemon's event socket" },
    { "frontend-cert", NULL, NULL, K_KEYFILE, STR (frontend_cert), 0, 0,
      "./var/keys/frontend_secret",
      "secret certificate of role frontend (caseworkers)" },
    { "ops-cert", NULL, NULL, K_KEYFILE, STR (ops_cert), 0, 0,
      "./var/keys/ops_secret", "secret certificate of role ops (ops, live)" },
    { "server-key", NULL, "EXITFLOW_SERVER_KEY", K_KEYFILE, STR (server_key),
      0, 0, "./var/keys/server", "the daemon's public certificate or Z85 key" },
    { "session-idle", NULL, NULL, K_INT, INT (session_idle_s), 60, 604800,
      "28800", "seconds a session may go unused" },
    { "session-max-age", NULL, NULL, K_INT, INT (session_max_age_s), 60,
      2592000, "86400", "seconds a session lasts however much it is used" },
    { "sessions-max", NULL, NULL, K_INT, INT (sessions_max), 1, 1000000,
      "4096", "sessions at once (the least recently used goes)" },
    { "login-failures", NULL, NULL, K_INT, INT (login_failures_name), 1, 1000000,
      "5", "failed sign-ins per name per window" },
    { "login-failures-address", NULL, NULL, K_INT, INT (login_failures_address),
      1, 1000000, "20", "failed sign-ins per remote address per window" },
    { "login-window", NULL, NULL, K_INT, INT (login_window_s), 1, 86400, "300",
      "seconds the failures are counted over" },
    { "live-max", NULL, NULL, K_INT, INT (live_max), 1, 10000, "64",
      "live (SSE) connections at once" },
    { "connections-max", NULL, NULL, K_INT, INT (connections_max), 4, 10000,
      "256", "HTTP connections at once" },
    { "timeout-ms", NULL, NULL, K_INT, INT (timeout_ms), 100, 600000, "3000",
      "wait for one daemon reply (one retry after it)" },
};

#define N_SETTINGS (sizeof settings / sizeof *settings)

enum { F_CONFIG = 1000, F_HELP };

static void
usage (FILE *out)
{
    fprintf (out, "usage: " PROGRAM " [--config FILE] [options]\n"
             "       " PROGRAM " passwd NAME --role caseworker|ops "
             "[--users FILE] [--config FILE]\n\n"
             "  --config FILE                ZPL config; keys under `web`, "
             "endpoints also\n                               under "
             "`exitflowd`\n");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        char left[64];
        snprintf (left, sizeof left, "--%s %s", s->flag,
                  s->kind == K_INT ? "N" : "VALUE");
        fprintf (out, "  %-28s %s%s%s%s\n", left, s->help,
                 s->def[0] ? " (" : "", s->def, s->def[0] ? ")" : "");
    }
    fprintf (out, "  --help\n\nStops cleanly on SIGTERM or SIGINT.\n");
}

static bool
known_key (const char *key)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp (key, settings[i].flag) == 0)
            return true;
    return false;
}

/* The file as ZPL, or NULL with the reason: a key of `web` this program
 * does not know is a typo to report, not a setting to ignore. */
static zconfig_t *
file_load (const char *path, char *why, size_t cap)
{
    char *text = setup_read_text (path, why, cap);
    if (!text)
        return NULL;
    zconfig_t *file = zconfig_str_load (text);
    free (text);
    if (!file) {
        snprintf (why, cap, "not valid ZPL (4 spaces per indent level)");
        return NULL;
    }
    zconfig_t *section = zconfig_locate (file, SECTION);
    for (zconfig_t *k = section ? zconfig_child (section) : NULL; k;
         k = zconfig_next (k))
        if (!known_key (zconfig_name (k))) {
            snprintf (why, cap, "unknown key " SECTION "/%.64s",
                      zconfig_name (k));
            zconfig_destroy (&file);
            return NULL;
        }
    return file;
}

static bool
apply (web_settings_t *cfg, const setting_t *s, const char *value,
       const char *from, FILE *err)
{
    char *dst = (char *) cfg + s->offset;
    if (s->kind == K_INT) {
        int64_t v;
        if (!codec_parse_int (value, s->min, s->max, &v)) {
            fprintf (err, PROGRAM ": %s takes a whole number from %ld to %ld\n",
                     from, s->min, s->max);
            return false;
        }
        *(int *) (void *) dst = (int) v;
        return true;
    }
    exitflow_error_t why;
    if (s->kind == K_ENDPOINT && !exitflow_endpoint_check (value, &why)) {
        fprintf (err, PROGRAM ": %s: %s\n", from, why.message);
        return false;
    }
    if (strlen (value) >= s->cap) {
        fprintf (err, PROGRAM ": %s is longer than %zu bytes\n", from,
                 s->cap - 1);
        return false;
    }
    memcpy (dst, value, strlen (value) + 1);
    return true;
}

/* Each setting from its flag, else the environment, else the file, else
 * its default; a key file's default only when it exists. */
static int
resolve (web_settings_t *cfg, const char *const flag[N_SETTINGS],
         zconfig_t *file, FILE *err)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        char path[128], from[160];
        snprintf (path, sizeof path, SECTION "/%s", s->flag);
        const char *value = setup_setting (flag[i], s->flag, s->env, file,
                                           path, s->fallback, from,
                                           sizeof from);
        if (!value) {
            value = s->def;
            if (s->kind == K_KEYFILE && access (value, F_OK) != 0)
                value = "";
            snprintf (from, sizeof from, "default %s", s->flag);
        }
        if (!apply (cfg, s, value, from, err))
            return 2;
    }
    return 0;
}

/* Both TLS files or neither; the three CURVE files together or none (a
 * daemon in local mode). The keys themselves are checked by the gateway
 * as it makes its clients. */
static int
check_pairs (const web_settings_t *cfg, FILE *err)
{
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        fprintf (err, PROGRAM ": --tls-cert and --tls-key go together\n");
        return 2;
    }
    int keys = !!cfg->frontend_cert[0] + !!cfg->ops_cert[0]
               + !!cfg->server_key[0];
    if (keys != 0 && keys != 3) {
        fprintf (err, PROGRAM ": --frontend-cert, --ops-cert and --server-key "
                 "go together (they default to ./var/keys/frontend_secret, "
                 "ops_secret and server when those exist)\n");
        return 2;
    }
    return 0;
}

int
web_settings_load (web_settings_t *cfg, int argc, char **argv, FILE *err)
{
    memset (cfg, 0, sizeof *cfg);
    struct option options[N_SETTINGS + 3];
    for (size_t i = 0; i < N_SETTINGS; i++)
        options[i] = (struct option) { settings[i].flag, required_argument,
                                       NULL, (int) i };
    options[N_SETTINGS] = (struct option) { "config", required_argument, NULL,
                                            F_CONFIG };
    options[N_SETTINGS + 1] = (struct option) { "help", no_argument, NULL,
                                                F_HELP };
    options[N_SETTINGS + 2] = (struct option) { NULL, 0, NULL, 0 };

    const char *flag[N_SETTINGS] = { 0 };
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt >= 0 && (size_t) opt < N_SETTINGS)
            flag[opt] = optarg;
        else if (opt == F_CONFIG)
            snprintf (cfg->config, sizeof cfg->config, "%s", optarg);
        else if (opt == F_HELP) {
            usage (stdout);
            return 1;
        } else {
            fprintf (err, PROGRAM ": unknown or incomplete option %s\n",
                     argv[optind - 1]);
            usage (err);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (err, PROGRAM ": unexpected argument %s\n", argv[optind]);
        return 2;
    }
    zconfig_t *file = NULL;
    char why[256];
    if (cfg->config[0] && !(file = file_load (cfg->config, why, sizeof why))) {
        fprintf (err, PROGRAM ": cannot use config %s: %s\n", cfg->config, why);
        return 2;
    }
    int status = resolve (cfg, flag, file, err);
    zconfig_destroy (&file);
    return status ? status : check_pairs (cfg, err);
}

int
web_settings_users_file (web_settings_t *cfg, const char *config,
                         const char *users, FILE *err)
{
    memset (cfg, 0, sizeof *cfg);
    const char *flag[N_SETTINGS] = { 0 };
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp (settings[i].flag, "users") == 0)
            flag[i] = users;
    zconfig_t *file = NULL;
    char why[256];
    if (config && !(file = file_load (config, why, sizeof why))) {
        fprintf (err, PROGRAM ": cannot use config %s: %s\n", config, why);
        return 2;
    }
    int status = resolve (cfg, flag, file, err);
    zconfig_destroy (&file);
    return status;
}
