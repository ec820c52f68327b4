/* dq_report — `exitflow dq-report`, handed over to the DQ worker.
 *
 * Owns: running `exitflow-dq report` in this process's place. The summary
 * is computed by the DQ rules, and those are the workers' code: the CLI
 * links no other program's folder, so it runs the DQ worker's report mode
 * instead (README, "Where to find things"). The CLI still parses the
 * command line, so help and usage errors read like every other
 * subcommand's; it then passes the settings it resolved (environment,
 * options before and after the subcommand's name) explicitly, after the
 * subcommand's own options in the order given. The values are judged by
 * `exitflow-dq report`, which exits with the CLI's statuses.
 *
 * The program is $EXITFLOW_DQ when set, else the `exitflow-dq` beside this
 * executable, else the one on PATH. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DQ_PROGRAM "exitflow-dq"

/* `exitflow-dq` beside /proc/self/exe into `out`; false when there is no
 * executable one there. */
static bool
program_beside_self (char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr (self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    int w = snprintf (out, cap, "%s/" DQ_PROGRAM, self);
    return w > 0 && (size_t) w < cap && access (out, X_OK) == 0;
}

/* Replaces this process with `exitflow-dq report ...` (argv[0] is set
 * here); returns only when no program could be run, after saying where it
 * looked. A missing program is reported like an unreachable daemon: the
 * command line was right and nothing was done. */
static int
exec_report (cli_t *cli, char **argv)
{
    fflush (stdout);
    const char *env = getenv ("EXITFLOW_DQ");
    if (env && *env) {
        argv[0] = (char *) env;
        execv (env, argv);
        fprintf (stderr, "exitflow %s: cannot run EXITFLOW_DQ=%s: %s\n",
                 cli->command->name, env, strerror (errno));
        return EXIT_UNREACHABLE;
    }
    char beside[PATH_MAX];
    if (program_beside_self (beside, sizeof beside)) {
        argv[0] = beside;
        execv (beside, argv);
        fprintf (stderr, "exitflow %s: cannot run %s: %s\n",
                 cli->command->name, beside, strerror (errno));
        return EXIT_UNREACHABLE;
    }
    argv[0] = DQ_PROGRAM;
    execvp (DQ_PROGRAM, argv);
    fprintf (stderr, "exitflow %s: the report is made by `" DQ_PROGRAM
             " report`, and no " DQ_PROGRAM " was found (EXITFLOW_DQ is "
             "unset, none is beside this program, none is on PATH: %s)\n",
             cli->command->name, strerror (errno));
    return EXIT_UNREACHABLE;
}

int
cmd_dq_report (cli_t *cli, int argc, char **argv)
{
    enum { OPT_PROJECT = 0x400, OPT_FROM, OPT_TO };
    static const struct option own[] = {
        { "project", required_argument, NULL, OPT_PROJECT },
        { "from", required_argument, NULL, OPT_FROM },
        { "to", required_argument, NULL, OPT_TO },
        { 0 },
    };
    /* Each own option takes at least one word of argv and becomes two;
     * the program, "report", the common options and NULL take 11 more. */
    char **out = calloc (2 * (size_t) argc + 11, sizeof *out);
    if (!out) {
        fprintf (stderr, "exitflow %s: out of memory\n", cli->command->name);
        return EXIT_UNREACHABLE;
    }
    int n = 2;                  /* out[0]: the program, set when found */
    out[1] = "report";
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        out[n++] = c == OPT_PROJECT ? "--project" : c == OPT_FROM ? "--from"
                                                                  : "--to";
        out[n++] = optarg;
    }
    int rc;
    if (c == CLI_STOP || !cli_positionals (cli, argc, argv, 0, 0))
        rc = cli->status;
    else {
        /* The common options' final values, known once getopt is done. */
        char timeout[16], retries[16];
        snprintf (timeout, sizeof timeout, "%d", cli->timeout_ms);
        snprintf (retries, sizeof retries, "%d", cli->retries);
        out[n++] = "--endpoint";
        out[n++] = (char *) cli->endpoint;
        out[n++] = "--timeout";
        out[n++] = timeout;
        out[n++] = "--retries";
        out[n++] = retries;
        if (cli->json)
            out[n++] = "--json";
        if (cli->actor) {
            out[n++] = "--actor";
            out[n++] = (char *) cli->actor;
        }
        rc = exec_report (cli, out);
    }
    free (out);
    return rc;
}
