/* dq_report — `exitflow-dq report`: the data-quality summary of stored
 * exits, a mode of the DQ worker's program.
 *
 * Owns: the report's command line — the options `exitflow dq-report` has
 * always taken (--project, --from, --to; --timezone, the CoC's calendar the
 * days late are counted in; and the CLI's common --endpoint,
 * --events, --json, --timeout, --retries, --actor, --help with their
 * EXITFLOW_* environment variables), its --help, usage errors and exit
 * statuses (0 ok, 1 refused, 2 usage, 3 unreachable) — and reading every
 * finished workflow (workflow.list, paged, with each one's view and
 * history) and every open one through libexitflow into the summary
 * (dq_summary.h), printed as text or JSON. The CLI's `exitflow dq-report`
 * runs this mode (it execs `exitflow-dq report ARGS...`), so the numbers
 * come from the same rules the worker applies and the CLI links no DQ code. */
#ifndef EXF_DQ_REPORT_H
#define EXF_DQ_REPORT_H

#define DQ_REPORT_MODE "report"     /* exitflow-dq's first argument */

/* Runs the report with argv[0] the mode's name; returns the exit status. */
int dq_report_main (int argc, char **argv);

#endif
