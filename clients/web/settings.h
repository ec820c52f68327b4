/* settings — exitflow-web's settings: defaults, the config file, flags.
 *
 * Owns: every setting of the gateway in one table (flag, key in the `web`
 * section of the ZPL file, default, help), reading them in that order —
 * flags override the file, the file the defaults — and checking what can
 * be checked before anything starts. The daemon's endpoints come from
 * `web`, else from the `exitflowd` section (as the workers find them).
 * The CURVE files default to the checkout's ./var/keys/ (frontend_secret,
 * ops_secret, server) when they exist; all three or none. */
#ifndef EXF_WEB_SETTINGS_H
#define EXF_WEB_SETTINGS_H

#include <stdbool.h>
#include <stdio.h>

#define WEB_PATH_MAX 1024

typedef struct {
    char config[WEB_PATH_MAX];      /* --config FILE, "" none */
    char listen[128];               /* ADDRESS:PORT */
    char tls_cert[WEB_PATH_MAX];    /* PEM files, both or neither */
    char tls_key[WEB_PATH_MAX];
    char users[WEB_PATH_MAX];       /* the users file */
    char static_dir[WEB_PATH_MAX];  /* the pages */
    char commands[256];             /* the daemon's endpoints */
    char events[256];
    char frontend_cert[WEB_PATH_MAX];   /* caseworker sessions' certificate */
    char ops_cert[WEB_PATH_MAX];        /* ops sessions' and the live feed's */
    char server_key[WEB_PATH_MAX];      /* the daemon's public key */
    int session_idle_s;             /* a session unused this long is gone */
    int session_max_age_s;          /* ... and any this long after sign-in */
    int sessions_max;               /* the session table's size */
    int login_failures_name;        /* failed sign-ins per name per window */
    int login_failures_address;     /* ... per remote address */
    int login_window_s;
    int live_max;                   /* SSE connections at once */
    int connections_max;            /* HTTP connections at once */
    int timeout_ms;                 /* one daemon reply */
} web_settings_t;

/* Fills `s` from defaults, the --config file and the flags of argv
 * (argv[0] the program). Returns 0 to run, 1 when --help was printed
 * (exit 0), 2 on a mistake, said on `err` (exit 2). */
int web_settings_load (web_settings_t *s, int argc, char **argv, FILE *err);

/* Only what `passwd` needs: --users and --config (other flags are its
 * own); the same rule. Returns as web_settings_load. */
int web_settings_users_file (web_settings_t *s, const char *config,
                             const char *users, FILE *err);

#endif
