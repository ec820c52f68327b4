/* exitflowd — the exit-workflow daemon's entry point.
 *
 * Owns: command-line flags and the config file (ZPL, section `exitflowd`);
 * flags override the file, the file overrides the defaults. */
#include <czmq.h>
#include <getopt.h>

#include "server.h"

static void
usage (FILE *out)
{
    fprintf (out,
        "usage: exitflowd [--data DIR] [--commands ENDPOINT] [--events ENDPOINT]\n"
        "                 [--stall-after SECONDS] [--map-size BYTES]\n"
        "                 [--config FILE] [--verbose]\n"
        "\n"
        "  --data DIR            LMDB environment directory (./var/exitflow)\n"
        "  --commands ENDPOINT   ROUTER for commands (tcp://127.0.0.1:5570)\n"
        "  --events ENDPOINT     PUB for events (tcp://127.0.0.1:5571)\n"
        "  --stall-after SECONDS idle time before workflow.stalled (86400)\n"
        "  --map-size BYTES      LMDB map size, the storage limit (8 GiB)\n"
        "  --config FILE         ZPL config; keys under `exitflowd`: data,\n"
        "                        commands, events, stall-after, map-size\n"
        "  --verbose             log every request (ids and codes only)\n");
}

static bool
parse_number (const char *text, long long min, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || end == text || *end || v < min)
        return false;
    *out = v;
    return true;
}

int
main (int argc, char **argv)
{
    server_config_t config = {
        .data_dir = "./var/exitflow",
        .commands_endpoint = "tcp://127.0.0.1:5570",
        .events_endpoint = "tcp://127.0.0.1:5571",
        .stall_after_s = 86400,
        .map_size = (size_t) 8 << 30,
    };
    const char *flag[6] = { 0 };     /* data, commands, events, stall, map, config */
    static const struct option options[] = {
        { "data", required_argument, NULL, 0 },
        { "commands", required_argument, NULL, 1 },
        { "events", required_argument, NULL, 2 },
        { "stall-after", required_argument, NULL, 3 },
        { "map-size", required_argument, NULL, 4 },
        { "config", required_argument, NULL, 5 },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    int opt;
    while ((opt = getopt_long (argc, argv, "vh", options, NULL)) != -1) {
        if (opt >= 0 && opt < 6)
            flag[opt] = optarg;
        else if (opt == 'v')
            config.verbose = true;
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
    if (flag[5]) {
        file = zconfig_load (flag[5]);
        if (!file) {
            fprintf (stderr, "exitflowd: cannot read config %s\n", flag[5]);
            return 2;
        }
        static const char *const keys[5] = {
            "exitflowd/data", "exitflowd/commands", "exitflowd/events",
            "exitflowd/stall-after", "exitflowd/map-size" };
        for (int i = 0; i < 5; i++)
            if (!flag[i])
                flag[i] = zconfig_get (file, keys[i], NULL);
    }
    if (flag[0])
        config.data_dir = flag[0];
    if (flag[1])
        config.commands_endpoint = flag[1];
    if (flag[2])
        config.events_endpoint = flag[2];
    long long n;
    if (flag[3]) {
        if (!parse_number (flag[3], 1, &n)) {
            fprintf (stderr, "exitflowd: --stall-after takes seconds >= 1\n");
            return 2;
        }
        config.stall_after_s = n;
    }
    if (flag[4]) {
        if (!parse_number (flag[4], 1 << 16, &n)) {
            fprintf (stderr, "exitflowd: --map-size takes bytes >= 65536\n");
            return 2;
        }
        config.map_size = (size_t) n;
    }
    zsys_init ();
    zsys_set_logstream (NULL);
    int status = server_run (&config);
    zconfig_destroy (&file);
    return status;
}
