/* exitflowd — the exit-workflow daemon's entry point.
 *
 * Owns: command-line flags and the config file (ZPL, section `exitflowd`);
 * flags override the file, the file overrides the defaults; and
 * `--verify DIR`, which checks a store and exits. */
#include <czmq.h>
#include <getopt.h>

#include "protocol/calendar.h"
#include "protocol/codec.h"
#include "protocol/setup.h"
#include "http.h"
#include "server.h"
#include "store.h"
#include "verify.h"

static void
usage (FILE *out)
{
    fprintf (out,
        "usage: exitflowd [--data DIR] [--commands ENDPOINT] [--events ENDPOINT]\n"
        "                 [--stall-after SECONDS] [--map-size BYTES]\n"
        "                 [--max-map-size BYTES]\n"
        "                 [--reply-retention SECONDS]\n"
        "                 [--server-cert FILE --certs DIR]\n"
        "                 [--max-connections N] [--peer-grace SECONDS]\n"
        "                 [--timezone ZONE] [--consumer-retire-after SECONDS]\n"
        "                 [--http ADDR:PORT] [--config FILE] [--verbose]\n"
        "       exitflowd --verify DIR\n"
        "\n"
        "  --data DIR            LMDB environment directory (./var/exitflow)\n"
        "  --commands ENDPOINT   ROUTER for commands (" EXF_DEFAULT_COMMANDS ")\n"
        "  --events ENDPOINT     PUB for events (" EXF_DEFAULT_EVENTS ")\n"
        "  --stall-after SECONDS idle time before workflow.stalled (86400)\n"
        "  --map-size BYTES      LMDB map size to start with (8 GiB)\n"
        "  --max-map-size BYTES  the storage limit: a full map doubles, up to\n"
        "                        this (default --map-size: no growth); at it,\n"
        "                        writes get UNAVAILABLE and reads go on\n"
        "  --reply-retention SECONDS\n"
        "                        how long replies are kept for retried requests\n"
        "                        (86400, the protocol's promise; lower only in tests)\n"
        "  --server-cert FILE    the daemon's secret CURVE certificate\n"
        "  --certs DIR           the clients' public certificates (name, role);\n"
        "                        without both: loopback only, every caller admin\n"
        "  --max-connections N   connections per socket; more are refused (256)\n"
        "  --peer-grace SECONDS  a peer leaving its replies unread (past 8 queued\n"
        "                        and a 4 MiB backlog) this long is cut off (30)\n"
        "  --timezone ZONE       the CoC's IANA time zone (America/Chicago):\n"
        "                        which day is today for the date rules\n"
        "                        (default: the system's); times stay UTC\n"
        "  --consumer-retire-after SECONDS\n"
        "                        ops may delete (consumer.delete) a consumer\n"
        "                        that has not acked for longer (604800, 7 days);\n"
        "                        admin may delete any\n"
        "  --http ADDR:PORT      serve /metrics (Prometheus) and /health over\n"
        "                        HTTP on this address only (127.0.0.1:5572,\n"
        "                        [::1]:5572); off unless given. No client data,\n"
        "                        no authentication: loopback or a private network\n"
        "  --config FILE         ZPL config; keys under `exitflowd`: data,\n"
        "                        commands, events, stall-after, map-size,\n"
        "                        max-map-size, reply-retention, server-cert,\n"
        "                        certs, max-connections, peer-grace, timezone,\n"
        "                        consumer-retire-after, http\n"
        "  --verbose             log every request (ids and codes only)\n"
        "  --verify DIR          check every page and record of the store in\n"
        "                        DIR (a running daemon's too), print what is\n"
        "                        damaged, and exit\n"
        "\n"
        "exit status: 0 stopped on SIGINT/SIGTERM (--verify: the store is\n"
        "clean), 1 a fault, 2 a bad flag or set-up, and for the store:\n"
        "  10 no space: the filesystem is full\n"
        "  11 the data directory is read-only\n"
        "  12 the store is damaged (restore it from a backup: README)\n"
        "  13 the store is of a schema this exitflowd does not serve: written\n"
        "     by a newer exitflowd (left untouched), or the first, unsealed\n"
        "     one; an older schema is upgraded when the store is opened\n");
}

static void
print_report (void *arg, bool problem, const char *line)
{
    (void) arg;
    printf ("%s%s\n", problem ? "damaged: " : "", line);
}

/* --verify DIR: the check's report on stdout. */
static int
verify (const char *dir)
{
    switch (verify_store (dir, print_report, NULL)) {
    case VERIFY_CLEAN:
        return 0;
    case VERIFY_DAMAGED:
        return STORE_EXIT_DAMAGED;
    case VERIFY_NO_STORE:
        fprintf (stderr, "exitflowd: no store in %s (no data.mdb)\n", dir);
        return 1;
    case VERIFY_OLD_FORMAT:
        fprintf (stderr, "exitflowd: %s holds a store of an older format; "
                 "its seals cannot be checked\n", dir);
        return 1;
    case VERIFY_NEWER_FORMAT:
        fprintf (stderr, "exitflowd: %s holds a store of a newer schema than "
                 "this exitflowd's (%d): a newer exitflowd serves it\n", dir,
                 STORE_FORMAT);
        return STORE_EXIT_VERSION;
    default:
        return 1;
    }
}

/* The config file as ZPL, or NULL with the reason in `why`: it must be a
 * regular file of UTF-8 text (a binary, a directory or /dev/zero is a
 * mistake to report, not an empty config to run on), and its `exitflowd`
 * section may hold only the keys the daemon knows (a misspelt key would
 * otherwise be ignored silently). */
static zconfig_t *
load_config (const char *path, const char *const *keys, int n_keys,
             char *why, size_t cap)
{
    char *text = setup_read_text (path, why, cap);
    if (!text)
        return NULL;
    zconfig_t *config = zconfig_str_load (text);
    if (!config)
        snprintf (why, cap, "not valid ZPL (4 spaces per indent level)");
    free (text);
    zconfig_t *section = config ? zconfig_locate (config, "exitflowd") : NULL;
    for (zconfig_t *k = section ? zconfig_child (section) : NULL; k;
         k = zconfig_next (k)) {
        bool known = false;
        for (int i = 0; i < n_keys && !known; i++)
            known = strcmp (keys[i] + strlen ("exitflowd/"),
                            zconfig_name (k)) == 0;
        if (!known) {
            snprintf (why, cap, "unknown key exitflowd/%.64s",
                      zconfig_name (k));
            zconfig_destroy (&config);
            break;
        }
    }
    return config;
}

/* --http ADDR:PORT (or the config's `http`), checked before anything
 * starts; false after saying why. */
static bool
http_flag (const char *text, server_config_t *config)
{
    struct sockaddr_storage addr;
    socklen_t len;
    char why[256];
    if (text && !setup_listen_address (text, "--http", HTTP_EXAMPLE, &addr,
                                       &len, why, sizeof why)) {
        fprintf (stderr, "exitflowd: %s\n", why);
        return false;
    }
    config->http = text;
    return true;
}

int
main (int argc, char **argv)
{
    server_config_t config = {
        .data_dir = "./var/exitflow",
        .commands_endpoint = EXF_DEFAULT_COMMANDS,
        .events_endpoint = EXF_DEFAULT_EVENTS,
        .stall_after_s = 86400,
        .map_size = (size_t) 8 << 30,
        .reply_retention_s = 86400,
        .max_connections = 256,
        .peer_grace_s = 30,
        .consumer_retire_after_s = 7 * 86400,
    };
    enum { F_DATA, F_COMMANDS, F_EVENTS, F_STALL, F_MAP, F_MAX_MAP,
           F_RETENTION, F_SERVER_CERT, F_CERTS, F_MAX_CONNECTIONS,
           F_PEER_GRACE, F_TIMEZONE, F_RETIRE, F_HTTP, F_CONFIG, F_COUNT };
    const char *flag[F_COUNT] = { 0 };
    static const struct option options[] = {
        { "data", required_argument, NULL, F_DATA },
        { "commands", required_argument, NULL, F_COMMANDS },
        { "events", required_argument, NULL, F_EVENTS },
        { "stall-after", required_argument, NULL, F_STALL },
        { "map-size", required_argument, NULL, F_MAP },
        { "max-map-size", required_argument, NULL, F_MAX_MAP },
        { "reply-retention", required_argument, NULL, F_RETENTION },
        { "server-cert", required_argument, NULL, F_SERVER_CERT },
        { "certs", required_argument, NULL, F_CERTS },
        { "max-connections", required_argument, NULL, F_MAX_CONNECTIONS },
        { "peer-grace", required_argument, NULL, F_PEER_GRACE },
        { "timezone", required_argument, NULL, F_TIMEZONE },
        { "consumer-retire-after", required_argument, NULL, F_RETIRE },
        { "http", required_argument, NULL, F_HTTP },
        { "config", required_argument, NULL, F_CONFIG },
        { "verbose", no_argument, NULL, 'v' },
        { "verify", required_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    int opt;
    while ((opt = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        if (opt >= 0 && opt < F_COUNT)
            flag[opt] = optarg;
        else if (opt == 'v')
            config.verbose = true;
        else if (opt == 'V') {
            if (optind < argc) {
                usage (stderr);
                return 2;
            }
            return verify (optarg);
        }
        else if (opt == 'h') {
            usage (stdout);
            return 0;
        } else {
            usage (stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage (stderr);
        return 2;
    }

    zconfig_t *file = NULL;
    if (flag[F_CONFIG]) {
        static const char *const keys[F_CONFIG] = {
            "exitflowd/data", "exitflowd/commands", "exitflowd/events",
            "exitflowd/stall-after", "exitflowd/map-size",
            "exitflowd/max-map-size", "exitflowd/reply-retention",
            "exitflowd/server-cert", "exitflowd/certs", "exitflowd/max-connections",
            "exitflowd/peer-grace", "exitflowd/timezone",
            "exitflowd/consumer-retire-after", "exitflowd/http" };
        char why[256];
        file = load_config (flag[F_CONFIG], keys, F_CONFIG, why, sizeof why);
        if (!file) {
            fprintf (stderr, "exitflowd: cannot use config %s: %s\n",
                     flag[F_CONFIG], why);
            return 2;
        }
        for (int i = 0; i < F_CONFIG; i++)
            if (!flag[i])
                flag[i] = zconfig_get (file, keys[i], NULL);
    }
    if (flag[F_DATA])
        config.data_dir = flag[F_DATA];
    if (flag[F_COMMANDS])
        config.commands_endpoint = flag[F_COMMANDS];
    if (flag[F_EVENTS])
        config.events_endpoint = flag[F_EVENTS];
    config.server_cert = flag[F_SERVER_CERT];
    config.certs_dir = flag[F_CERTS];
    const char *endpoints[] = { config.commands_endpoint,
                                config.events_endpoint };
    for (int i = 0; i < 2; i++) {
        char why[256];
        if (!setup_endpoint_valid (endpoints[i], true, why, sizeof why)) {
            fprintf (stderr, "exitflowd: %s\n", why);
            zconfig_destroy (&file);
            return 2;
        }
    }
    int64_t n;
    enum { CENTURY_S = 100LL * 366 * 86400 };
    static const struct {
        int flag;
        long long min, max;
        const char *what;
    } numbers[] = {
        { F_STALL, 1, CENTURY_S, "--stall-after takes 1 to 3162240000 seconds" },
        { F_MAP, 1 << 16, 1LL << 50, "--map-size takes 65536 bytes to 1 PiB" },
        { F_MAX_MAP, 1 << 16, 1LL << 50,
          "--max-map-size takes 65536 bytes to 1 PiB" },
        { F_RETENTION, 1, CENTURY_S,
          "--reply-retention takes 1 to 3162240000 seconds" },
        { F_MAX_CONNECTIONS, 1, 100000,
          "--max-connections takes 1 to 100000" },
        { F_PEER_GRACE, 1, 86400, "--peer-grace takes 1 to 86400 seconds" },
        { F_RETIRE, 0, CENTURY_S,
          "--consumer-retire-after takes 0 to 3162240000 seconds" } };
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        const char *text = flag[numbers[i].flag];
        if (!text)
            continue;
        if (!codec_parse_int (text, numbers[i].min, numbers[i].max, &n)) {
            fprintf (stderr, "exitflowd: %s\n", numbers[i].what);
            return 2;
        }
        if (numbers[i].flag == F_STALL)
            config.stall_after_s = n;
        else if (numbers[i].flag == F_MAP)
            config.map_size = (size_t) n;
        else if (numbers[i].flag == F_MAX_MAP)
            config.max_map_size = (size_t) n;
        else if (numbers[i].flag == F_MAX_CONNECTIONS)
            config.max_connections = (size_t) n;
        else if (numbers[i].flag == F_PEER_GRACE)
            config.peer_grace_s = n;
        else if (numbers[i].flag == F_RETIRE)
            config.consumer_retire_after_s = n;
        else
            config.reply_retention_s = n;
    }
    if (!config.max_map_size)
        config.max_map_size = config.map_size;      /* no growth */
    if (config.max_map_size < config.map_size) {
        fprintf (stderr, "exitflowd: --max-map-size (%zu) must be at least "
                 "--map-size (%zu)\n", config.max_map_size, config.map_size);
        zconfig_destroy (&file);
        return 2;
    }
    if (!http_flag (flag[F_HTTP], &config)) {
        zconfig_destroy (&file);
        return 2;
    }
    /* before any thread starts: the zone is process-wide (TZ) */
    char why[256];
    if (!calendar_set_zone (flag[F_TIMEZONE], why, sizeof why)) {
        fprintf (stderr, "exitflowd: --timezone: %s\n", why);
        zconfig_destroy (&file);
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (NULL);
    int status = server_run (&config);
    zconfig_destroy (&file);
    return status;
}
