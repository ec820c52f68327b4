/* exitflow — the command-line client of exitflowd.
 *
 * Owns: the subcommand table (name, handler, usage, help: options, fields
 * and an example; and which flag each field a refusal names came from)
 * and dispatch.
 * Everything a subcommand does lives in its module: caseworker.c (the
 * guided workflow), codes.c (the HUD code tables), ops.c (lists,
 * history, events, consumers, stats, backup), export.c (the HUD CSV
 * export), demo.c, dq_report.c (hands over to
 * `exitflow-dq report`), keygen.c (the CURVE certificates); args.c parses
 * options and maps errors to exit statuses. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---- where a refused field came from, command by command ---- */

static const cli_field_flag_t start_flags[] = {
    { "members*.last*", "--last FILE" },
    { "members*.birth_date", "--member ...:birth_date=YYYY-MM-DD" },
    { "members*.adult", "--member ...:adult=true|false" },
    { "members*.entry_date", "--member's 4th field, ENTRY_DATE" },
    { "members*.relationship", "--member's 3rd field, RELATIONSHIP" },
    { "members*.enrollment_id", "--member's 2nd field, ENROLLMENT_ID" },
    { "members*.client_id", "--member's 1st field, CLIENT_ID" },
    { "members*", "--member" },
    { "enrollment_id", "--enrollment" },
    { "household_id", "--household" },
    { "project_id", "--project" },
    { "project_type", "--project-type" },
    { "move_in_date", "--move-in-date" },
    { NULL, NULL },
};

static const cli_field_flag_t save_flags[] = {
    { "members*.steps.*.mode", "--default-last" },
    { "members*.steps.*.data", "--data" },
    { "members*.steps.*.*", "\"%s\" in --data" },
    { "members*.steps.*", "STEP" },
    { "members*.last*", "--default-last (the member has no prior values "
                        "for it: give them at start, a file's \"last\" or "
                        "--last FILE)" },
    { "members*.decision", "CLIENT (exitflow decide first)" },
    { "members*.client_id", "CLIENT" },
    { "mode", "--default-last" },
    { "data", "--data" },
    { "step", "STEP" },
    { "client_id", "CLIENT" },
    { NULL, NULL },
};

static const cli_field_flag_t decide_flags[] = {
    { "members*.client_id", "CLIENT" },
    { "members*.decision", "CLIENT" },
    { "client_id", "CLIENT" },
    { "exit", "yes|no" },
    { NULL, NULL },
};

/* finish has no flag for a member: the path says who, this what to do. */
static const cli_field_flag_t finish_flags[] = {
    { "new_head_of_household", "--new-hoh" },
    { "members*.decision", "exitflow decide it first" },
    { "members*.steps.*", "exitflow save it first" },
    { NULL, NULL },
};

static const cli_field_flag_t cancel_flags[] = {
    { "reason", "--reason" },
    { NULL, NULL },
};

static const cli_field_flag_t list_flags[] = {
    { "state", "--state" },
    { "idle_for_s", "--idle" },
    { "project_id", "--project" },
    { "client_id", "--client" },
    { "enrollment_id", "--enrollment" },
    { "household_id", "--household" },
    { "actor", "--mine (your --actor) or --caseworker" },
    { "stalled", "--stalled" },
    { "limit", "--limit or --page-size" },
    { NULL, NULL },
};

static const cli_field_flag_t dq_flags[] = {
    { "source", "--source" },
    { "findings*", "--findings" },
    { NULL, NULL },
};

static const cli_field_flag_t ack_flags[] = {
    { "consumer", "CONSUMER" },
    { "seq", "SEQ" },
    { NULL, NULL },
};

static const cli_field_flag_t consumers_flags[] = {
    { "consumer", "--delete NAME" },
    { NULL, NULL },
};

static const cli_field_flag_t backup_flags[] = {
    { "dir", "DIR" },
    { NULL, NULL },
};

static const cli_field_flag_t export_flags[] = {
    { "from", "--from" },
    { "to", "--to" },
    { NULL, NULL },
};

static const cli_field_flag_t tail_flags[] = {
    { "after", "--from" },
    { NULL, NULL },
};

/* The columns of a workflow list, as `list` prints them. */
#define LIST_COLUMNS \
    "  ID                    the workflow id (exitflow show ID)\n" \
    "  STATE                 open, finished or cancelled\n" \
    "  PROJECT, HOUSEHOLD    project_id, household_id\n" \
    "  CASEWORKER            who started it (started_by), then /who changed\n" \
    "                        it last (last_actor) when that is someone else\n" \
    "  STARTED, LAST ACTIVITY  created_at, updated_at in the CoC's time zone\n" \
    "                        (named under the table)\n" \
    "  PROGRESS              steps and decisions done/total\n" \
    "  IDLE                  since the last change\n" \
    "  STALLED               yes when a workflow.stalled event stands (open)\n"

#define EVENT_LINE_FIELDS \
    "  one line per event: SEQ, TS (UTC), TYPE, WORKFLOW_ID, CLIENT_ID, then\n" \
    "  what it says, `key value` with codes and their HUD labels:\n" \
    "    member.exited ... destination 410 (Rental by client, no ongoing\n" \
    "    housing subsidy) exit_date 2026-11-28 ...\n" \
    "  --json prints the events as they are (one JSON object per line for\n" \
    "  events tail): seq, type, ts, workflow_id, client_id, actor,\n" \
    "  principal, data\n"

static const cli_command_t commands[] = {
    /* caseworker flow */
    { "start", cmd_start,
      "(--file HOUSEHOLD.json | --example | --enrollment E --household H"
      " --project P --member SPEC... [--last FILE])",
      "start the exit of a household",
      "  --file FILE           the household as JSON (\"-\": stdin): the fields\n"
      "                        below, as --example prints them\n"
      "  --example             print a valid household file to start from\n"
      "                        (fresh ids, project " EXF_DEMO_PROJECT "); nothing is sent\n"
      "  --enrollment E        enrollment_id: the enrollment the exit starts for\n"
      "  --household H         household_id\n"
      "  --project P           project_id\n"
      "  --project-type N      project_type, HUD 2.02.6 (exitflow codes\n"
      "                        project_type)\n"
      "  --move-in-date DATE   move_in_date, HUD 3.20 (YYYY-MM-DD), for\n"
      "                        permanent housing project types 3, 9, 10, 13\n"
      "  --member SPEC         once per member, the file's member fields:\n"
      "                        client_id:enrollment_id:relationship:entry_date\n"
      "                        [:birth_date=YYYY-MM-DD][:adult=true|false]\n"
      "                        (a bare date, child and adult are short for\n"
      "                        the last two)\n"
      "  --last FILE           the members' prior values (their \"last\"), for\n"
      "                        save --default-last: {\"CLIENT_ID\": {\"STEP\":\n"
      "                        {...}}}, or a household file (--example's) whose\n"
      "                        members carry \"last\"\n",
      "  enrollment_id         str: the member it names exits from the start\n"
      "  household_id          str: one open exit per household\n"
      "  project_id            str (\"" EXF_DEMO_PROJECT "\" is the sandbox, left out of list)\n"
      "  project_type          int, HUD 2.02.6\n"
      "  move_in_date          \"YYYY-MM-DD\", HUD 3.20 (permanent housing only)\n"
      "  members               1 to 32 of:\n"
      "    client_id, enrollment_id   str\n"
      "    relationship        int, HUD 3.15: 1 head of household, 2 child,\n"
      "                        3 spouse or partner, ... (exitflow codes\n"
      "                        relationship)\n"
      "    entry_date          \"YYYY-MM-DD\"\n"
      "    birth_date          \"YYYY-MM-DD\", HUD 3.03 (optional): the daemon\n"
      "                        works out who is an adult on the exit date\n"
      "    adult               true|false (optional; wins over birth_date;\n"
      "                        with neither the member counts as an adult and\n"
      "                        the DQ worker flags the age as unknown)\n"
      "    last                {\"STEP\": {prior values}} (optional), for\n"
      "                        --default-last (fields: exitflow codes STEP)\n",
      "  exitflow start --example > household.json\n"
      "  exitflow start --file household.json\n"
      "  exitflow start --enrollment E-1 --household HH-1 --project P-1 \\\n"
      "      --project-type 13 --move-in-date 2026-08-20 \\\n"
      "      --member C-1:E-1:1:2026-08-01:birth_date=1985-03-02 \\\n"
      "      --member C-2:E-2:2:2026-08-01:adult=false \\\n"
      "      --last household-last.json\n",
      start_flags },
    { "show", cmd_show, "WORKFLOW_ID",
      "the guided workflow: members, decisions, steps, next step, DQ",
      "",
      "  the header              state, version, project (with its HUD type),\n"
      "                          household, when and by whom it started\n"
      "  Progress                done/total, the last activity, and the time\n"
      "                          zone of every time shown (the CoC's: the\n"
      "                          daemon's stats timezone)\n"
      "  one block per member    relationship (HUD 3.15 label), client_id,\n"
      "                          decision; for an exiting member each step:\n"
      "                          \xe2\x9c\x94 done (entered or default last, when, by\n"
      "                          whom), \xe2\x96\xb8 next, \xc2\xb7 pending; the saved exit form\n"
      "                          in words under its step\n"
      "  Next                    the command for what comes next (open only)\n"
      "  DQ                      the data-quality findings\n"
      "  --json                  the workflow view as the daemon sends it\n",
      "  exitflow show 01JD3R8W6Z7Q4V1M2N5K8P0A9B\n"
      "  exitflow show 01JD3R8W6Z7Q4V1M2N5K8P0A9B --json\n",
      NULL },
    { "codes", cmd_codes, "[destinations|LIST|STEP]",
      "the HUD code lists with labels and every step's typed fields",
      "  destinations          only the 3.12 destinations and their categories\n"
      "  LIST                  only that code list (relationship, subsidy_type, ...)\n"
      "  STEP                  only that step's fields (income_benefits, ...)\n",
      "  destinations          CODE, CATEGORY, LABEL\n"
      "  a list                CODE, LABEL\n"
      "  a step                FIELD, TYPE, ELEMENT (HUD), CSV COLUMN, GOES WITH\n",
      "  exitflow codes exit\n"
      "  exitflow codes relationship\n",
      NULL },
    { "save", cmd_save,
      "WORKFLOW_ID CLIENT STEP (--data JSON | --data @FILE | --default-last)",
      "save a step of a member (exit, universal_data, health_insurance, ...)",
      "  --data JSON           the step's values; @FILE reads a file, @- stdin\n"
      "  --default-last        copy the member's prior values for the step\n"
      "                        (every step but exit; the prior values come\n"
      "                        with the start: a file's \"last\", or --last)\n"
      "  --expected-version N  refuse (CONFLICT) unless the workflow is at N\n",
      "  STEP                  exit, universal_data, health_insurance,\n"
      "                        disabilities, income_benefits (adults and the\n"
      "                        head of household), in that order\n"
      "  --data                the step's typed fields: exitflow codes STEP\n"
      "                        lists them; the exit form is exit_date\n"
      "                        (YYYY-MM-DD), destination (HUD 3.12: exitflow\n"
      "                        codes destinations), destination_subsidy_type\n"
      "                        (435 only), other_destination (17 only),\n"
      "                        exit_reason; fields starting local_ are the\n"
      "                        CoC's own questions\n",
      "  exitflow save WF C-1 exit --data '{\"exit_date\": \"2026-11-28\",\n"
      "      \"destination\": 410, \"exit_reason\": \"Moved in with a lease\"}'\n"
      "  exitflow save WF C-1 universal_data --default-last\n"
      "  exitflow save WF C-1 disabilities --data @disabilities.json\n",
      save_flags },
    { "decide", cmd_decide, "WORKFLOW_ID CLIENT yes|no",
      "decide whether another member exits too (yes) or stays (no)",
      "  --expected-version N  refuse (CONFLICT) unless the workflow is at N\n",
      "  CLIENT                a member other than the one the exit started for\n"
      "  yes|no                exits too (their steps follow) or stays\n",
      "  exitflow decide WF C-2 no\n"
      "  exitflow decide WF C-3 yes\n",
      decide_flags },
    { "finish", cmd_finish, "WORKFLOW_ID [--new-hoh CLIENT]",
      "finish the exit (every member decided, every step done)",
      "  --new-hoh CLIENT      new_head_of_household: the staying member who\n"
      "                        becomes head of household (needed when the head\n"
      "                        exits and someone stays, refused otherwise)\n"
      "  --expected-version N  refuse (CONFLICT) unless the workflow is at N\n",
      "  prints                the finished workflow's id and version; the\n"
      "                        daemon emits member.exited for each exiting\n"
      "                        member, then workflow.finished\n",
      "  exitflow finish WF --new-hoh C-2\n",
      finish_flags },
    { "cancel", cmd_cancel, "WORKFLOW_ID --reason TEXT",
      "cancel the exit",
      "  --reason TEXT         why (required)\n"
      "  --expected-version N  refuse (CONFLICT) unless the workflow is at N\n",
      "  reason                kept with the workflow (show prints it)\n",
      "  exitflow cancel WF --reason \"started for the wrong household\"\n",
      cancel_flags },
    /* operations */
    { "list", cmd_list,
      "[--client C | --enrollment E | --household H | --mine | --caseworker ID]"
      " [--state S] [--stalled] [--idle DURATION] [--project P]",
      "find exits: a client's, a household's, yours; the stalled; oldest-idle first",
      "  --client C            exits with client C among their members\n"
      "  --enrollment E        exits with enrollment E among their members\n"
      "  --household H         the exits of household H\n"
      "  --mine                the exits you (--actor, EXITFLOW_ACTOR) started\n"
      "                        or changed last\n"
      "  --caseworker ID       the exits ID started or changed last\n"
      "  --state STATE         open, finished or cancelled; default open, or\n"
      "                        every state with one of the five above\n"
      "  --stalled             only open exits that stalled\n"
      "  --idle DURATION       only those idle at least this long: 45s, 12m,\n"
      "                        24h, 3d, 1h30m (a bare number is seconds)\n"
      "  --project P           only this project\n"
      "  --include-demo        also project " EXF_DEMO_PROJECT " (left out unless named\n"
      "                        by --project)\n"
      "  --limit N             at most N workflows (default: all)\n"
      "  --page-size N         workflows per request, 1..1000 (1000)\n",
      LIST_COLUMNS
      "  --json                {workflows: [...]}: workflow_id, state,\n"
      "                        project_id, household_id, created_at,\n"
      "                        updated_at, started_by, last_actor, stalled,\n"
      "                        progress {done, total}\n",
      "  exitflow list --household HH-1         # the household's exits\n"
      "  exitflow list --client C-7 --state open\n"
      "  exitflow --actor cw-17 list --mine\n"
      "  exitflow list --stalled --idle 3d\n",
      list_flags },
    { "history", cmd_history, "WORKFLOW_ID",
      "every event of a workflow, in order",
      "",
      EVENT_LINE_FIELDS,
      "  exitflow history WF\n"
      "  exitflow history WF --json\n",
      NULL },
    { "events tail", cmd_events_tail,
      "[--from SEQ] [--type PREFIX] [--count N] [--no-follow]",
      "follow the events, gapless and in order, until Ctrl-C",
      "  --from SEQ            start after SEQ (0: from the first event);\n"
      "                        default: from now\n"
      "  --type PREFIX         only types starting with PREFIX (workflow.)\n"
      "  --count N             stop after N events\n"
      "  --no-follow           stop when caught up with the log\n"
      "  --events ENDPOINT     the daemon's event socket (EXITFLOW_EVENTS,\n"
      "                        " CLI_DEFAULT_EVENTS ")\n",
      EVENT_LINE_FIELDS,
      "  exitflow events tail --from 0 --no-follow\n"
      "  exitflow events tail --type member. --json\n",
      tail_flags },
    { "consumers", cmd_consumers, "[--delete NAME]",
      "event consumers: their offsets, lag and last ack; retire one",
      "  --delete NAME         forget consumer NAME and its offset (a worker\n"
      "                        tried once, renamed or gone): admin always; ops\n"
      "                        only once it has not acked for the daemon's\n"
      "                        --consumer-retire-after (7 days by default).\n"
      "                        A deleted consumer that acks again is new\n",
      "  CONSUMER              the name a worker acks under (dq, notify)\n"
      "  SEQ, LAG              the last event it processed, and how many are\n"
      "                        left\n"
      "  LAST ACK, IDLE        when it last acked (the CoC's zone), and since\n"
      "  --json                {consumers: [{consumer, seq, lag, acked_at}],\n"
      "                        last_seq}; with --delete {consumer, deleted}\n",
      "  exitflow consumers\n"
      "  exitflow consumers --delete dq-test\n",
      consumers_flags },
    { "ack", cmd_ack, "CONSUMER SEQ",
      "record that CONSUMER has processed every event up to SEQ",
      "",
      "  CONSUMER              the consumer's name (1..64 bytes)\n"
      "  SEQ                   at most the last seq; lower than the stored\n"
      "                        offset leaves it unchanged\n"
      "  prints                the stored seq and the lag\n",
      "  exitflow ack my-consumer 1200\n",
      ack_flags },
    { "dq", cmd_dq, "WORKFLOW_ID --source S --findings JSON",
      "report data-quality findings (replaces that source's findings)",
      "  --source S            the reporting source\n"
      "  --findings JSON       an array of findings; @FILE reads a file; []\n"
      "                        clears\n",
      "  a finding             {rule: str, severity: \"error\"|\"warning\",\n"
      "                        client_id: str (optional), message: str}\n",
      "  exitflow dq WF --source manual --findings '[{\"rule\": \"check-dates\",\n"
      "      \"severity\": \"warning\", \"message\": \"entry date looks late\"}]'\n",
      dq_flags },
    { "dq-report", cmd_dq_report,
      "[--project P] [--from YYYY-MM-DD --to YYYY-MM-DD] [--include-demo]",
      "the APR-Q6-style data-quality summary of stored exits",
      "  --project P           only this project\n"
      "  --from DATE           exits dated on or after DATE (YYYY-MM-DD)\n"
      "  --to DATE             exits dated on or before DATE\n"
      "  --include-demo        also project " EXF_DEMO_PROJECT " (left out unless named\n"
      "                        by --project)\n",
      "  the report            made by exitflow-dq report (exitflow-dq report\n"
      "                        --help describes its rows)\n",
      "  exitflow dq-report --from 2026-10-01 --to 2026-12-31\n",
      NULL },
    { "stats", cmd_stats, "", "workflow counts, last seq, uptime, the store's map",
      "",
      "  workflows             open, finished, cancelled\n"
      "  last seq              the newest event\n"
      "  uptime                of the daemon\n"
      "  timezone              the CoC's zone, \"today\" and the times shown\n"
      "  store                 its schema; map_size, which grows up to\n"
      "                        max_map_size (exitflowd --max-map-size); full\n"
      "                        when it cannot grow: writes are refused\n",
      "  exitflow stats --json\n",
      NULL },
    { "backup", cmd_backup, "DIR [--wait SECONDS]",
      "copy the store into DIR while the daemon serves (admin)",
      "  --wait SECONDS        how long to wait for the copy (3600)\n",
      "  DIR                   on the daemon's machine, new or empty; a\n"
      "                        relative DIR is taken from the daemon's working\n"
      "                        directory. Made 0700, the copy 0600: it holds\n"
      "                        client data\n"
      "  prints                the directory, the copy's size and the last\n"
      "                        event seq in it; --json {dir, bytes, last_seq}\n"
      "  restore               start exitflowd --data DIR (check it first with\n"
      "                        exitflowd --verify DIR)\n",
      "  exitflow backup /var/backups/exitflow/2026-11-30\n"
      "  exitflow backup /var/backups/exitflow/nightly --json\n",
      backup_flags },
    { "export", cmd_export,
      "--out DIR [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--include-demo]",
      "the HUD HMIS CSV files of the exits finished on the CoC's days (ops, admin)",
      "  --out DIR             a new or empty directory (made 0700; its files\n"
      "                        0600: they hold client data)\n"
      "  --from DATE           exits finished on or after DATE (YYYY-MM-DD, the\n"
      "                        CoC's calendar: the daemon's time zone);\n"
      "                        default --to\n"
      "  --to DATE             ... and on or before DATE; default the CoC's\n"
      "                        today. Neither: the exits finished today\n"
      "  --include-demo        also project " EXF_DEMO_PROJECT " (left out unless asked)\n"
      "  --source-type N       Export.csv SourceType: 1 CoC HMIS, 2 agency\n"
      "                        database, 3 data warehouse, 4 other (4)\n"
      "  --source-id ID        SourceID (the CoC code, XX-999, for type 1)\n"
      "  --source-name NAME    SourceName (needed when the type is not 1)\n"
      "  --implementation-id ID  ImplementationID\n",
      "  Exit.csv              one row per exiting member: ExitID (the\n"
      "                        workflow id and the member's place: the same\n"
      "                        in every export), EnrollmentID, PersonalID\n"
      "                        (client_id), ExitDate, Destination,\n"
      "                        DestinationSubsidyType (435 only),\n"
      "                        OtherDestination (17 only); DateCreated and\n"
      "                        UserID when and by whom the exit form was\n"
      "                        first saved, DateUpdated its last save; the\n"
      "                        columns the workflow does not hold are empty\n"
      "  IncomeBenefits.csv    the exit-stage (DataCollectionStage 3) health\n"
      "                        insurance, income and benefits, InformationDate\n"
      "                        the exit date; amounts in dollars, 2 decimals\n"
      "  Disabilities.csv      one row per disability answered (types 5-10)\n"
      "  HealthAndDV.csv       header only: the exit holds none of its columns\n"
      "  Export.csv            the export: span, software, period type 1\n"
      "                        (updated), directive 1 (delta), unhashed\n"
      "  format                HMIS CSV FY2024: the spec's header, CRLF,\n"
      "                        UTF-8, quotes only where a value needs them;\n"
      "                        datetimes in the CoC's zone\n"
      "  --json                {dir, export_id, from, to, timezone, workflows,\n"
      "                        exits, demo_left_out, files: {NAME: rows}}\n",
      "  exitflow export --out /var/lib/exitflow/exports/today\n"
      "  exitflow export --from 2026-11-01 --to 2026-11-30 --out ./hud-2026-11\n",
      export_flags },
    { "ping", cmd_ping, "", "check that the daemon answers",
      "",
      "  pong, version         the daemon's answer and protocol version\n",
      "  exitflow ping\n",
      NULL },
    /* newcomers */
    { "demo", cmd_demo, "[--pace MS] [--dq-wait SECONDS]",
      "run a sample three-member household exit end to end",
      "  --pace MS             pause between steps (watch with events tail)\n"
      "  --dq-wait SECONDS     how long to wait for the DQ worker's findings\n"
      "                        (5; 0: do not wait)\n",
      "  the household         start --example's, in project " EXF_DEMO_PROJECT " (left out\n"
      "                        of list and dq-report unless asked)\n"
      "  prints                each command and the version it reached, what\n"
      "                        the DQ worker made of the exit (the demo files\n"
      "                        no findings itself), the finished view, and a\n"
      "                        second household left open half-way\n",
      "  exitflow demo\n"
      "  exitflow demo --pace 500     # with exitflow events tail in another terminal\n",
      NULL },
    /* security */
    { "keygen", cmd_keygen, "NAME --role ROLE --out DIR",
      "make a CURVE certificate pair for a client of the daemon",
      "  --role ROLE           what the certificate may do:" CLI_ROLE_WORDS "\n"
      "  --out DIR             writes DIR/NAME (public: the daemon's --certs\n"
      "                        directory holds it) and DIR/NAME_secret (mode\n"
      "                        0600: the client's --cert); refuses to\n"
      "                        overwrite either; prints the public key\n",
      "  NAME                  1 to 64 letters, digits, '.', '_', '-': the\n"
      "                        principal recorded in events\n"
      "  the files             czmq certificates with metadata name and role\n",
      "  exitflow keygen cw-desk --role frontend --out ./var/keys\n",
      NULL },
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
