/* dq_report — `exitflow dq-report`, handed over to the DQ worker.
 *
 * Owns: running `exitflow-dq report` in this process's place. The summary
 * is computed by the DQ rules, and those are the workers' code: the CLI
 * links no other program's folder, so it runs the DQ worker's report mode
 * instead, which takes the options `exitflow dq-report` takes. What the CLI
 * resolved before the subcommand's name (the environment's EXITFLOW_*, the
 * options before `dq-report`, the keys found as every command finds them)
 * goes first, explicitly; the subcommand's own
 * words follow untouched, so an option repeated there wins as it always
 * did. The report program judges them and exits with the CLI's statuses;
 * only --help is answered here, from the CLI's table, so that it reads
 * like every other subcommand's.
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

/* --help or -h among the words before a "--". */
static bool
asks_for_help (int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
        if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
            return true;
    return false;
}

int
cmd_dq_report (cli_t *cli, int argc, char **argv)
{
    if (asks_for_help (argc, argv)) {
        cli_print_help (cli, cli->command, stdout);
        return EXIT_OK;
    }
    /* The keys as this CLI finds them (its default certificate is not the
     * worker's): judged here, handed over explicitly. */
    exitflow_options_t keys = cli_options (cli);
    if (!cli_endpoint_ok (cli, cli->endpoint, "--endpoint", "EXITFLOW_ENDPOINT")
        || !cli_keys_ok (cli, &keys))
        return cli->status;
    /* The program, "report", the resolved options (at most 13 words), the
     * subcommand's words after its name, NULL. */
    char **out = calloc ((size_t) argc + 16, sizeof *out);
    if (!out) {
        fprintf (stderr, "exitflow %s: out of memory\n", cli->command->name);
        return EXIT_UNREACHABLE;
    }
    char timeout[16], retries[16];
    snprintf (timeout, sizeof timeout, "%d", cli->timeout_ms);
    snprintf (retries, sizeof retries, "%d", cli->retries);
    int n = 1;                  /* out[0]: the program, set when found */
    out[n++] = "report";
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
    if (keys.cert) {                /* and so server_key: checked above */
        out[n++] = "--cert";
        out[n++] = (char *) keys.cert;
        out[n++] = "--server-key";
        out[n++] = (char *) keys.server_key;
    }
    for (int i = 1; i < argc; i++)
        out[n++] = argv[i];
    int rc = exec_report (cli, out);
    free (out);
    return rc;
}
