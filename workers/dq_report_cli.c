/* dq_report_cli — the `dq-report` subcommand of bin/exitflow (clients/cli).
 * Built into the CLI, not the workers: the lead adds this file and the
 * summary's sources to CLI_SRC, a row to the CLI's table and the handler's
 * declaration to cli.h (workers/README.md, "Hooking dq-report into the CLI").
 * Takes the CLI's common options (--endpoint, --json, --timeout, ...). */
#include "clients/cli/cli.h"

#include <string.h>

#include "dq_report.h"

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
    dq_summary_filter_t f;
    memset (&f, 0, sizeof f);
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        if (c == OPT_PROJECT && !dq_summary_set_project (&f, optarg))
            return cli_usage_error (cli, "--project takes an id of 1 to %d "
                                    "bytes", EXF_ID_MAX);
        if ((c == OPT_FROM && !dq_summary_set_from (&f, optarg))
            || (c == OPT_TO && !dq_summary_set_to (&f, optarg)))
            return cli_usage_error (cli, "--%s takes a date YYYY-MM-DD",
                                    c == OPT_FROM ? "from" : "to");
    }
    if (c == CLI_STOP || !cli_positionals (cli, argc, argv, 0, 0))
        return cli->status;
    if (f.has_from && f.has_to && f.from_day > f.to_day)
        return cli_usage_error (cli, "--from is after --to");
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;
    static dq_summary_t sum;
    exitflow_error_t err;
    if (!dq_report_collect (client, &f, &sum, &err))
        return cli_fail (cli, &err);
    if (cli->json)
        dq_summary_print_json (&sum, &f, stdout);
    else
        dq_summary_print (&sum, &f, stdout);
    return EXIT_OK;
}
