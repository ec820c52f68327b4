/* caseworker — the subcommands of the guided exit: start, show, save,
 * decide, finish, cancel.
 *
 * Owns: turning their command lines into library calls (household from a
 * JSON file or from flags, step data from JSON) and their human output. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/names.h"

#define MAX_MEMBERS 32

enum { OPT_FILE = 1, OPT_ENROLLMENT, OPT_HOUSEHOLD, OPT_PROJECT,
       OPT_PROJECT_TYPE, OPT_MOVE_IN, OPT_MEMBER, OPT_DATA, OPT_DEFAULT_LAST,
       OPT_EXPECTED_VERSION, OPT_NEW_HOH, OPT_REASON };

#define VERSION_OPTION \
    { "expected-version", required_argument, NULL, OPT_EXPECTED_VERSION }

static void
print_line (cli_t *cli, const msgpack_object *res, const void *line)
{
    (void) cli;
    (void) res;
    printf ("%s\n", (const char *) line);
}

/* Prints a write's result: JSON, or `text` for people. */
static int
done (cli_t *cli, exitflow_reply_t *reply, const char *text)
{
    return cli_reply (cli, reply, NULL, print_line, text);
}

/* The options of a write: --expected-version into *expected, the value of
 * its one other option (if any) into *value; then `n` positionals. False
 * when the run ends here (cli->status). */
static bool
write_options (cli_t *cli, int argc, char **argv, const struct option *own,
               const char **value, int64_t *expected, int n)
{
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        if (c != OPT_EXPECTED_VERSION)
            *value = optarg;
        else if (!cli_int_arg (cli, "--expected-version", optarg, 0,
                               INT64_MAX, expected))
            return false;
    }
    return c != CLI_STOP && cli_positionals (cli, argc, argv, n, n);
}

/* ---- start ---- */

static bool
is_date (const char *text)
{
    int64_t days;
    return codec_parse_date ((exf_str_t) { text, (uint32_t) strlen (text) },
                             &days);
}

/* The optional fields after entry_date: a date of birth (HUD 3.03) and
 * the adult flag (child or minor / adult), at most one of each, in
 * either order. */
static bool
member_extra (cli_t *cli, const char *field, exitflow_member_t *m)
{
    if (is_date (field) && !m->birth_date) {
        m->birth_date = field;
        return true;
    }
    if (m->adult < 0 && (strcmp (field, "child") == 0
                         || strcmp (field, "minor") == 0)) {
        m->adult = 0;
        return true;
    }
    if (m->adult < 0 && strcmp (field, "adult") == 0) {
        m->adult = 1;
        return true;
    }
    cli_usage_error (cli, "--member: after entry_date come a birth date "
                     "YYYY-MM-DD and child or adult, at most one of each, "
                     "not '%s'", field);
    return false;
}

/* client:enrollment:relationship:entry_date[:birth_date][:child|adult]
 * — fields are split in place, so `spec` must be writable (it is argv). */
static bool
parse_member (cli_t *cli, char *spec, exitflow_member_t *m)
{
    char *field[7];
    int n = 0;
    for (char *p = spec; n < 7; n++) {
        field[n] = p;
        char *colon = strchr (p, ':');
        if (!colon) {
            n++;
            break;
        }
        *colon = '\0';
        p = colon + 1;
    }
    int64_t rel;
    if (n < 4 || n > 6) {
        cli_usage_error (cli, "--member takes client:enrollment:relationship:"
                         "entry_date[:birth_date][:child|adult]");
        return false;
    }
    if (!cli_int_arg (cli, "--member relationship", field[2], 1, 99, &rel))
        return false;
    *m = (exitflow_member_t) {
        .client_id = field[0], .enrollment_id = field[1],
        .relationship = (int) rel, .entry_date = field[3], .adult = -1,
    };
    for (int i = 4; i < n; i++)
        if (!member_extra (cli, field[i], m))
            return false;
    return true;
}

int
cmd_start (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "file", required_argument, NULL, OPT_FILE },
        { "enrollment", required_argument, NULL, OPT_ENROLLMENT },
        { "household", required_argument, NULL, OPT_HOUSEHOLD },
        { "project", required_argument, NULL, OPT_PROJECT },
        { "project-type", required_argument, NULL, OPT_PROJECT_TYPE },
        { "move-in-date", required_argument, NULL, OPT_MOVE_IN },
        { "member", required_argument, NULL, OPT_MEMBER },
        { 0 },
    };
    exitflow_household_t hh = { .project_type = -1 };
    exitflow_member_t members[MAX_MEMBERS];
    const char *file = NULL;
    bool flags = false;
    int64_t v;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        flags |= c != OPT_FILE;
        switch (c) {
        case OPT_FILE: file = optarg; break;
        case OPT_ENROLLMENT: hh.enrollment_id = optarg; break;
        case OPT_HOUSEHOLD: hh.household_id = optarg; break;
        case OPT_PROJECT: hh.project_id = optarg; break;
        case OPT_PROJECT_TYPE:
            if (!cli_int_arg (cli, "--project-type", optarg, 0, 99, &v))
                return EXIT_USAGE;
            hh.project_type = (int) v;
            break;
        case OPT_MOVE_IN: hh.move_in_date = optarg; break;
        case OPT_MEMBER:
            if (hh.member_count == MAX_MEMBERS)
                return cli_usage_error (cli, "at most %d members", MAX_MEMBERS);
            if (!parse_member (cli, optarg, &members[hh.member_count]))
                return EXIT_USAGE;
            hh.member_count++;
            break;
        }
    }
    if (c == CLI_STOP)
        return cli->status;
    if (!cli_positionals (cli, argc, argv, 0, 0))
        return EXIT_USAGE;
    if (file && flags)
        return cli_usage_error (cli, "give --file or the flags, not both");
    if (!file && (!hh.enrollment_id || !hh.household_id || !hh.project_id
                  || hh.member_count == 0))
        return cli_usage_error (cli, "give --file, or --enrollment, --household, "
                                "--project and at least one --member");
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;

    exitflow_error_t err;
    exitflow_reply_t *reply;
    if (file) {
        char arg[4096];
        snprintf (arg, sizeof arg, "@%s", file);
        json_t *j = cli_json_arg (cli, "--file", arg);
        if (!j)
            return EXIT_USAGE;
        if (!json_is_object (j)) {
            json_decref (j);
            return cli_usage_error (cli, "--file must hold a JSON object (the "
                                    "workflow.start arguments)");
        }
        size_t len;
        char *args = cli_msgpack_from_json (j, &len);
        json_decref (j);
        reply = exitflow_call (client, EXF_CMD_NAME (WORKFLOW_START), args,
                               len, &err);
        free (args);
    } else {
        hh.members = members;
        reply = exitflow_start (client, &hh, &err);
    }
    if (!reply)
        return cli_fail (cli, &err);
    char text[256];
    snprintf (text, sizeof text, "Started workflow %s (v%lld)\n"
              "See it with: exitflow show %s",
              exitflow_reply_workflow_id (reply),
              (long long) exitflow_reply_version (reply),
              exitflow_reply_workflow_id (reply));
    return done (cli, reply, text);
}

/* ---- show ---- */

static void
show_text (cli_t *cli, const msgpack_object *view, const void *arg)
{
    (void) cli;
    (void) arg;
    show_render (stdout, view);
}

int
cmd_show (cli_t *cli, int argc, char **argv)
{
    exitflow_client_t *client = cli_simple_start (cli, argc, argv, 1, 1);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    return cli_reply (cli, exitflow_get (client, argv[optind], &err), &err,
                      show_text, NULL);
}

/* ---- save ---- */

int
cmd_save (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "data", required_argument, NULL, OPT_DATA },
        { "default-last", no_argument, NULL, OPT_DEFAULT_LAST },
        VERSION_OPTION,
        { 0 },
    };
    const char *data = NULL;
    bool default_last = false;
    int64_t expected = EXITFLOW_ANY_VERSION;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        switch (c) {
        case OPT_DATA: data = optarg; break;
        case OPT_DEFAULT_LAST: default_last = true; break;
        case OPT_EXPECTED_VERSION:
            if (!cli_int_arg (cli, "--expected-version", optarg, 0, INT64_MAX,
                              &expected))
                return EXIT_USAGE;
            break;
        }
    }
    if (c == CLI_STOP)
        return cli->status;
    if (!cli_positionals (cli, argc, argv, 3, 3))
        return EXIT_USAGE;
    if (!data == !default_last)
        return cli_usage_error (cli, "give either --data JSON or --default-last");
    const char *wf = argv[optind], *who = argv[optind + 1],
               *step = argv[optind + 2];

    char *bytes = NULL;
    size_t len = 0;
    if (data) {
        json_t *j = cli_json_arg (cli, "--data", data);
        if (!j)
            return EXIT_USAGE;
        if (!json_is_object (j)) {
            json_decref (j);
            return cli_usage_error (cli, "--data must be a JSON object");
        }
        bytes = cli_msgpack_from_json (j, &len);
        json_decref (j);
    }
    exitflow_client_t *client = cli_client (cli);
    if (!client) {
        free (bytes);
        return cli->status;
    }
    exitflow_error_t err;
    exitflow_reply_t *reply
        = data ? exitflow_save (client, wf, who, step, bytes, len, expected, &err)
               : exitflow_save_default_last (client, wf, who, step, expected, &err);
    free (bytes);
    if (!reply)
        return cli_fail (cli, &err);
    char text[256];
    const char *next = exitflow_reply_next_step (reply);
    snprintf (text, sizeof text, "Saved %s for %s%s (v%lld); %s%s", step, who,
              default_last ? " from the last values" : "",
              (long long) exitflow_reply_version (reply),
              next ? "next: " : "every step of this member is done",
              next ? next : "");
    return done (cli, reply, text);
}

/* ---- decide ---- */

int
cmd_decide (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = { VERSION_OPTION, { 0 } };
    int64_t expected = EXITFLOW_ANY_VERSION;
    const char *none = NULL;
    if (!write_options (cli, argc, argv, own, &none, &expected, 3))
        return cli->status;
    const char *answer = argv[optind + 2];
    bool exits;
    if (strcmp (answer, "yes") == 0)
        exits = true;
    else if (strcmp (answer, "no") == 0)
        exits = false;
    else
        return cli_usage_error (cli, "the decision is yes (exits too) or no "
                                "(stays), not '%s'", answer);
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    exitflow_reply_t *reply = exitflow_decide (client, argv[optind],
                                               argv[optind + 1], exits,
                                               expected, &err);
    if (!reply)
        return cli_fail (cli, &err);
    char text[160];
    snprintf (text, sizeof text, "%s is %s (v%lld)", argv[optind + 1],
              exits ? "exiting" : "staying",
              (long long) exitflow_reply_version (reply));
    return done (cli, reply, text);
}

/* ---- finish and cancel ---- */

int
cmd_finish (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "new-hoh", required_argument, NULL, OPT_NEW_HOH },
        { "new-head-of-household", required_argument, NULL, OPT_NEW_HOH },
        VERSION_OPTION,
        { 0 },
    };
    const char *new_hoh = NULL;
    int64_t expected = EXITFLOW_ANY_VERSION;
    if (!write_options (cli, argc, argv, own, &new_hoh, &expected, 1))
        return cli->status;
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    exitflow_reply_t *reply = exitflow_finish (client, argv[optind], new_hoh,
                                               expected, &err);
    if (!reply)
        return cli_fail (cli, &err);
    char text[160];
    snprintf (text, sizeof text, "Finished workflow %s (v%lld)", argv[optind],
              (long long) exitflow_reply_version (reply));
    return done (cli, reply, text);
}

int
cmd_cancel (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "reason", required_argument, NULL, OPT_REASON },
        VERSION_OPTION,
        { 0 },
    };
    const char *reason = NULL;
    int64_t expected = EXITFLOW_ANY_VERSION;
    if (!write_options (cli, argc, argv, own, &reason, &expected, 1))
        return cli->status;
    if (!reason)
        return cli_usage_error (cli, "--reason is required");
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    exitflow_reply_t *reply = exitflow_cancel (client, argv[optind], reason,
                                               expected, &err);
    if (!reply)
        return cli_fail (cli, &err);
    char text[160];
    snprintf (text, sizeof text, "Cancelled workflow %s (v%lld)", argv[optind],
              (long long) exitflow_reply_version (reply));
    return done (cli, reply, text);
}
