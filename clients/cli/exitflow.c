/* exitflow — the command-line client of exitflowd.
 *
 * Owns: the subcommand table (name, handler, usage, help) and dispatch.
 * Everything a subcommand does lives in its module: caseworker.c (the
 * guided workflow), codes.c (the HUD code tables), ops.c (lists,
 * history, events, consumers, stats), demo.c, dq_report.c (hands over to
 * `exitflow-dq report`), keygen.c (the CURVE certificates); args.c parses
 * options and maps errors to exit statuses. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const cli_command_t commands[] = {
    /* caseworker flow */
    { "start", cmd_start,
      "(--file HOUSEHOLD.json | --enrollment E --household H --project P"
      " --member SPEC...)",
      "start the exit of a household",
      "  --file FILE           workflow.start arguments as JSON (\"-\": stdin)\n"
      "  --enrollment E        the enrollment the exit starts for\n"
      "  --household H         household id\n"
      "  --project P           project id\n"
      "  --project-type N      HUD 2.02.6 project type\n"
      "  --move-in-date DATE   HUD 3.20 housing move-in date (YYYY-MM-DD), for\n"
      "                        permanent housing project types 3, 9, 10, 13\n"
      "  --member SPEC         once per member:\n"
      "                        client:enrollment:relationship:entry_date\n"
      "                        [:birth_date][:child|adult]\n"
      "                        relationship is HUD 3.15 (exitflow codes\n"
      "                        relationship); birth_date YYYY-MM-DD (HUD 3.03)\n"
      "                        makes the daemon work out who is an adult on\n"
      "                        the exit date; child or adult says it outright\n"
      "                        (and wins). With neither the member counts as\n"
      "                        an adult and the DQ worker flags the age as\n"
      "                        unknown. e.g. C-7:E-7:2:2024-03-01:2015-06-30\n" },
    { "show", cmd_show, "WORKFLOW_ID",
      "the guided workflow: members, decisions, steps, next step, DQ",
      "" },
    { "codes", cmd_codes, "[destinations|LIST|STEP]",
      "the HUD code lists with labels and every step's typed fields",
      "  destinations          only the 3.12 destinations and their categories\n"
      "  LIST                  only that code list (relationship, subsidy_type, ...)\n"
      "  STEP                  only that step's fields (income_benefits, ...)\n" },
    { "save", cmd_save,
      "WORKFLOW_ID CLIENT STEP (--data JSON | --data @FILE | --default-last)",
      "save a step of a member (exit, universal_data, health_insurance, ...)",
      "  --data JSON           the step's values; @FILE reads a file, @- stdin\n"
      "                        (the typed fields of each step: exitflow codes\n"
      "                        STEP; the CoC's own questions start with local_)\n"
      "  --default-last        copy the member's prior values for the step\n"
      "  --expected-version N  refuse (CONFLICT) unless the workflow is at N\n" },
    { "decide", cmd_decide, "WORKFLOW_ID CLIENT yes|no",
      "decide whether another member exits too (yes) or stays (no)",
      "  --expected-version N  refuse (CONFLICT) unless the workflow is at N\n" },
    { "finish", cmd_finish, "WORKFLOW_ID [--new-hoh CLIENT]",
      "finish the exit (every member decided, every step done)",
      "  --new-hoh CLIENT      the staying member who becomes head of household\n"
      "                        (needed when the head exits and someone stays)\n"
      "  --expected-version N  refuse (CONFLICT) unless the workflow is at N\n" },
    { "cancel", cmd_cancel, "WORKFLOW_ID --reason TEXT",
      "cancel the exit",
      "  --reason TEXT         why (required)\n"
      "  --expected-version N  refuse (CONFLICT) unless the workflow is at N\n" },
    /* operations */
    { "list", cmd_list,
      "[--state open|finished|cancelled] [--idle DURATION] [--project P]",
      "workflows as a table, oldest-idle first",
      "  --state STATE         open (default), finished or cancelled\n"
      "  --idle DURATION       only those idle at least this long: 45s, 12m,\n"
      "                        24h, 3d, 1h30m (a bare number is seconds)\n"
      "  --project P           only this project\n"
      "  --limit N             at most N workflows (default: all)\n"
      "  --page-size N         workflows per request, 1..1000 (1000)\n" },
    { "history", cmd_history, "WORKFLOW_ID",
      "every event of a workflow, in order", "" },
    { "events tail", cmd_events_tail,
      "[--from SEQ] [--type PREFIX] [--count N] [--no-follow]",
      "follow the events, gapless and in order, until Ctrl-C",
      "  --from SEQ            start after SEQ (0: from the first event);\n"
      "                        default: from now\n"
      "  --type PREFIX         only types starting with PREFIX (workflow.)\n"
      "  --count N             stop after N events\n"
      "  --no-follow           stop when caught up with the log\n"
      "  --events ENDPOINT     the daemon's event socket (EXITFLOW_EVENTS,\n"
      "                        " CLI_DEFAULT_EVENTS ")\n" },
    { "consumers", cmd_consumers, "",
      "event consumers: their offsets and lag", "" },
    { "ack", cmd_ack, "CONSUMER SEQ",
      "record that CONSUMER has processed every event up to SEQ", "" },
    { "dq", cmd_dq, "WORKFLOW_ID --source S --findings JSON",
      "report data-quality findings (replaces that source's findings)",
      "  --source S            the reporting source\n"
      "  --findings JSON       an array of {rule, severity, client_id?, message};\n"
      "                        @FILE reads a file; [] clears\n" },
    { "dq-report", cmd_dq_report,
      "[--project P] [--from YYYY-MM-DD --to YYYY-MM-DD]",
      "the APR-Q6-style data-quality summary of stored exits",
      "  --project P           only this project\n"
      "  --from DATE           exits dated on or after DATE (YYYY-MM-DD)\n"
      "  --to DATE             exits dated on or before DATE\n" },
    { "stats", cmd_stats, "", "workflow counts, last seq, uptime", "" },
    { "ping", cmd_ping, "", "check that the daemon answers", "" },
    /* newcomers */
    { "demo", cmd_demo, "[--pace MS]",
      "run a sample three-member household exit end to end",
      "  --pace MS             pause between steps (watch with events tail)\n" },
    /* security */
    { "keygen", cmd_keygen, "NAME --role ROLE --out DIR",
      "make a CURVE certificate pair for a client of the daemon",
      "  --role ROLE           what the certificate may do:" CLI_ROLE_WORDS "\n"
      "  --out DIR             writes DIR/NAME (public: the daemon's --certs\n"
      "                        directory holds it) and DIR/NAME_secret (mode\n"
      "                        0600: the client's --cert); refuses to\n"
      "                        overwrite either; prints the public key\n" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
print_overview (FILE *out)
{
    fprintf (out,
        "usage: exitflow [--endpoint E] [--events E] [--json] COMMAND [ARGS]\n"
        "\n"
        "The client of exitflowd, the HMIS client-exit workflow daemon.\n"
        "\n"
        "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf (out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf (out,
        "\n"
        "options of every command:\n"
        "  --endpoint ENDPOINT   command socket (EXITFLOW_ENDPOINT, "
        CLI_DEFAULT_ENDPOINT ")\n"
        "  --events ENDPOINT     event socket (EXITFLOW_EVENTS, "
        CLI_DEFAULT_EVENTS ")\n"
        "  --json                machine-readable output\n"
        "  --timeout MS          wait per attempt (EXITFLOW_TIMEOUT_MS, %d)\n"
        "  --retries N           re-sends after a timeout (EXITFLOW_RETRIES, %d)\n"
        "  --actor ID            your user id, recorded in events (EXITFLOW_ACTOR)\n"
        CLI_KEY_OPTIONS_HELP
        "  --help                help of the command\n"
        "\n"
        "exit status: 0 ok, 1 refused by the daemon, 2 usage, 3 unreachable\n"
        "`exitflow COMMAND --help` describes a command; try `exitflow demo`.\n",
        CLI_DEFAULT_TIMEOUT_MS, CLI_DEFAULT_RETRIES);
}

/* Finds the command named by argv[0] (or argv[0] argv[1] for the two-word
 * ones) and says how many words it took. */
static const cli_command_t *
find_command (int argc, char **argv, int *words)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *name = commands[i].name;
        const char *space = strchr (name, ' ');
        if (!space && strcmp (name, argv[0]) == 0) {
            *words = 1;
            return &commands[i];
        }
        if (space && argc > 1 && strlen (argv[0]) == (size_t) (space - name)
            && strncmp (name, argv[0], (size_t) (space - name)) == 0
            && strcmp (space + 1, argv[1]) == 0) {
            *words = 2;
            return &commands[i];
        }
    }
    return NULL;
}

/* "events" alone: the group's subcommands. */
static bool
print_group (const char *word, FILE *out)
{
    size_t n = strlen (word);
    bool any = false;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strncmp (commands[i].name, word, n) == 0
            && commands[i].name[n] == ' ') {
            if (!any)
                fprintf (out, "usage:\n");
            fprintf (out, "  exitflow %s %s\n", commands[i].name,
                     commands[i].synopsis);
            any = true;
        }
    return any;
}

int
main (int argc, char **argv)
{
    cli_t cli;
    cli_defaults (&cli);
    int first = cli_global_options (&cli, argc, argv);
    if (first == CLI_HELP) {
        print_overview (stdout);
        return EXIT_OK;
    }
    if (first < 0)
        return cli.status;
    if (first >= argc) {
        print_overview (stderr);
        return EXIT_USAGE;
    }
    argc -= first;
    argv += first;

    if (strcmp (argv[0], "help") == 0) {
        if (argc == 1) {
            print_overview (stdout);
            return EXIT_OK;
        }
        int words;
        const cli_command_t *cmd = find_command (argc - 1, argv + 1, &words);
        if (cmd) {
            cli_print_help (&cli, cmd, stdout);
            return EXIT_OK;
        }
        if (print_group (argv[1], stdout))
            return EXIT_OK;
        fprintf (stderr, "exitflow: no command %s\n", argv[1]);
        return EXIT_USAGE;
    }
    int words;
    const cli_command_t *cmd = find_command (argc, argv, &words);
    if (!cmd) {
        if (print_group (argv[0], argc > 1 && strcmp (argv[1], "--help") == 0
                                      ? stdout : stderr))
            return argc > 1 && strcmp (argv[1], "--help") == 0 ? EXIT_OK
                                                                : EXIT_USAGE;
        fprintf (stderr, "exitflow: unknown command '%s' (see exitflow --help)\n",
                 argv[0]);
        return EXIT_USAGE;
    }
    cli.command = cmd;
    /* The handler sees its words as argv[0] (getopt's program name). */
    int rc = cmd->run (&cli, argc - (words - 1), argv + (words - 1));
    exitflow_client_destroy (&cli.client);
    return rc;
}
