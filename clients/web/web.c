/* web — exitflow-web: the reference web front end's gateway.
 *
 * Owns: main — the `passwd` subcommand, the settings, every start-up check
 * (exit 2 with one line on stderr when something set up cannot be used:
 * the users file, the pages, the certificates, the TLS files, the listen
 * address), starting the parts in order, and stopping them in the reverse
 * order on SIGTERM or SIGINT (exit 0). */
#include "api.h"
#include "gateway.h"
#include "live.h"
#include "ratelimit.h"
#include "server.h"
#include "sessions.h"
#include "settings.h"
#include "static.h"
#include "users.h"

#include "protocol/setup.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM "exitflow-web"

/* Live feed: events kept for reconnects, how far behind a page may fall
 * before it is dropped, the heartbeat. */
#define LIVE_RING 4096
#define LIVE_LAG_MAX 1024
#define LIVE_HEARTBEAT_S 15
/* Entries of each sign-in failure table. */
#define RATELIMIT_ENTRIES 4096
/* Sessions one user may hold at once (browsers, devices): signing in more
 * often pushes out their own oldest, never someone else's. */
#define SESSIONS_PER_USER 32

typedef struct {
    users_t *users;
    static_files_t *files;
    gateway_t *gateway;
    sessions_t *sessions;
    ratelimit_t *by_name, *by_address;
    live_t *live;
    server_t *server;
    char *tls_cert, *tls_key;
} parts_t;

static void
parts_stop (parts_t *p)
{
    /* calls to the daemon end at once, then the feed, then the server
     * (its threads may be in those calls), then what they used */
    if (p->gateway)
        gateway_shutdown (p->gateway);
    if (p->live)
        live_stop (p->live);
    server_stop (&p->server);
    live_destroy (&p->live);
    gateway_destroy (&p->gateway);
    ratelimit_destroy (&p->by_name);
    ratelimit_destroy (&p->by_address);
    sessions_destroy (&p->sessions);
    static_destroy (&p->files);
    users_destroy (&p->users);
    if (p->tls_key)
        explicit_bzero (p->tls_key, strlen (p->tls_key));
    free (p->tls_cert);
    free (p->tls_key);
}

static int
setup_failed (parts_t *p, const char *what, const char *why)
{
    fprintf (stderr, PROGRAM ": %s: %s\n", what, why);
    parts_stop (p);
    return 2;
}

static int
parts_start (parts_t *p, const web_settings_t *s)
{
    char why[WEB_PATH_MAX + 256];
    if (s->tls_cert[0]) {
        if (!MHD_is_feature_supported (MHD_FEATURE_TLS))
            return setup_failed (p, "--tls-cert", "this libmicrohttpd has no "
                                 "TLS support");
        if (!(p->tls_cert = setup_read_text (s->tls_cert, why, sizeof why)))
            return setup_failed (p, s->tls_cert, why);
        if (!(p->tls_key = setup_read_text (s->tls_key, why, sizeof why)))
            return setup_failed (p, s->tls_key, why);
    }
    if (!(p->users = users_new (s->users, why, sizeof why)))
        return setup_failed (p, s->users, why);
    if (!(p->files = static_new (s->static_dir, why, sizeof why)))
        return setup_failed (p, "--static", why);
    gateway_config_t g = {
        .commands = s->commands, .events = s->events,
        .frontend_cert = s->frontend_cert, .ops_cert = s->ops_cert,
        .server_key = s->server_key, .timeout_ms = s->timeout_ms,
    };
    if (!(p->gateway = gateway_new (&g, why, sizeof why)))
        return setup_failed (p, "certificates", why);
    p->sessions = sessions_new ((size_t) s->sessions_max, SESSIONS_PER_USER,
                                s->session_idle_s, s->session_max_age_s);
    p->by_name = ratelimit_new (RATELIMIT_ENTRIES, s->login_failures_name,
                                s->login_window_s);
    p->by_address = ratelimit_new (RATELIMIT_ENTRIES, s->login_failures_address,
                                   s->login_window_s);
    p->live = live_new (p->gateway, LIVE_RING, (size_t) s->live_max,
                        LIVE_LAG_MAX, LIVE_HEARTBEAT_S);
    if (!p->sessions || !p->by_name || !p->by_address || !p->live)
        return setup_failed (p, "start-up", "out of memory");
    server_config_t sc = {
        .listen = s->listen, .tls_cert_pem = p->tls_cert,
        .tls_key_pem = p->tls_key, .connections_max = s->connections_max,
        .deps = { .users = p->users, .sessions = p->sessions,
                  .by_name = p->by_name, .by_address = p->by_address,
                  .gateway = p->gateway, .live = p->live },
        .files = p->files,
    };
    if (!(p->server = server_start (&sc, why, sizeof why)))
        return setup_failed (p, "--listen", why);
    /* the feed last: a mistake above stops it before it says anything */
    if (!live_start (p->live))
        return setup_failed (p, "start-up", "no thread for the live feed");
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv[1], "passwd") == 0)
        return users_passwd_main (argc - 1, argv + 1);
    web_settings_t s;
    int status = web_settings_load (&s, argc, argv, stderr);
    if (status)
        return status == 1 ? 0 : 2;

    /* every thread inherits the mask: the signals come to sigwait below */
    sigset_t stop;
    sigemptyset (&stop);
    sigaddset (&stop, SIGTERM);
    sigaddset (&stop, SIGINT);
    pthread_sigmask (SIG_BLOCK, &stop, NULL);
    signal (SIGPIPE, SIG_IGN);

    parts_t p = { 0 };
    if ((status = parts_start (&p, &s)))
        return status;
    fprintf (stderr, PROGRAM ": serving %s://%s (%zu users; daemon %s, %s)\n",
             p.tls_cert ? "https" : "http", s.listen, users_count (p.users),
             s.commands, s.frontend_cert[0] ? "CURVE" : "no CURVE: local mode");
    int sig = 0;
    sigwait (&stop, &sig);
    fprintf (stderr, PROGRAM ": stopping (%s)\n", sig == SIGINT ? "SIGINT"
                                                                : "SIGTERM");
    parts_stop (&p);
    return 0;
}
