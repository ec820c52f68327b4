/* dq_report — `exitflow dq-report`: fetches the stored exits and prints the
 * APR-Q6-style summary (dq_summary.h).
 *
 * Owns: reading every finished workflow of the project (workflow.list,
 * paged) with its view and history, and every open one (for the open and
 * stalled counts), through libexitflow. The subcommand itself is
 * dq_report_cli.c. */
#ifndef EXF_DQ_REPORT_H
#define EXF_DQ_REPORT_H

#include "clients/exitflow.h"
#include "dq_summary.h"

/* Fills `sum`; false with `err` when the daemon could not be read. */
bool dq_report_collect (exitflow_client_t *client, const dq_summary_filter_t *f,
                        dq_summary_t *sum, exitflow_error_t *err);

#endif
