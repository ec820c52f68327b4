/* dq_report — `exitflow dq-report`: fetches the stored exits and prints the
 * APR-Q6-style summary (dq_summary.h).
 *
 * Owns: reading every finished workflow of the project (workflow.list,
 * paged) with its view and history, and every open one (for the open and
 * stalled counts), through libexitflow; and the subcommand's options, so
 * the CLI and the standalone bin/exitflow-dq-report share them. */
#ifndef EXF_DQ_REPORT_H
#define EXF_DQ_REPORT_H

#include "clients/exitflow.h"
#include "dq_summary.h"

/* Fills `sum`; false with `err` when the daemon could not be read. */
bool dq_report_collect (exitflow_client_t *client, const dq_summary_filter_t *f,
                        dq_summary_t *sum, exitflow_error_t *err);

/* Parses `--project P --from DATE --to DATE` (argv[0] is the command name;
 * unknown options are errors). Returns 0, or 2 after printing the mistake
 * to `err`. */
int dq_report_parse (int argc, char **argv, dq_summary_filter_t *f, FILE *err);

#define DQ_REPORT_USAGE "[--project P] [--from YYYY-MM-DD --to YYYY-MM-DD]"
#define DQ_REPORT_HELP \
    "  --project P           only this project's exits\n" \
    "  --from DATE           exits dated on or after DATE (YYYY-MM-DD)\n" \
    "  --to DATE             exits dated on or before DATE\n"

#endif
