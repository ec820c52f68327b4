/* caseworker — the subcommands of the guided exit: start, show, save,
 * decide, finish, cancel.
 *
 * Owns: turning their command lines into library calls (household from a
 * JSON file or from flags — the two agree: a member's birth_date= and
 * adult= are the file's keys, and --last FILE gives flags the prior values
 * a file carries — step data from JSON) and their human output; `start
 * --example` prints the sample household as a file to start from. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/names.h"

#define MAX_MEMBERS 32

enum { OPT_FILE = 1, OPT_EXAMPLE, OPT_ENROLLMENT, OPT_HOUSEHOLD, OPT_PROJECT,
       OPT_PROJECT_TYPE, OPT_MOVE_IN, OPT_MEMBER, OPT_LAST, OPT_DATA,
       OPT_DEFAULT_LAST, OPT_EXPECTED_VERSION, OPT_NEW_HOH, OPT_REASON };

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

/* `text` is `name=` followed by the value: the value, else NULL. */
static const char *
value_of (const char *text, const char *name)
{
    size_t n = strlen (name);
    return strncmp (text, name, n) == 0 && text[n] == '=' ? text + n + 1
                                                          : NULL;
}

/* The optional fields after entry_date, in the file's words —
 * birth_date=YYYY-MM-DD (HUD 3.03) and adult=true|false — or short: a
 * bare date, child (minor) or adult. At most one of each, either order. */
static bool
member_extra (cli_t *cli, const char *field, exitflow_member_t *m)
{
    const char *born = value_of (field, "birth_date");
    const char *adult = value_of (field, "adult");
    if (!born && is_date (field))
        born = field;
    if (born && !m->birth_date && is_date (born)) {
        m->birth_date = born;
        return true;
    }
    if (!adult && (strcmp (field, "child") == 0 || strcmp (field, "minor") == 0))
        adult = "false";
    if (!adult && strcmp (field, "adult") == 0)
        adult = "true";
    if (adult && m->adult < 0 && (strcmp (adult, "true") == 0
                                  || strcmp (adult, "false") == 0)) {
        m->adult = strcmp (adult, "true") == 0;
        return true;
    }
    cli_usage_error (cli, "--member: after entry_date come birth_date="
                     "YYYY-MM-DD and adult=true|false (or a bare date, child, "
                     "adult), at most one of each, not '%s'", field);
    return false;
}

/* client:enrollment:relationship:entry_date[:birth_date=D][:adult=B]
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
        cli_usage_error (cli, "--member takes client_id:enrollment_id:"
                         "relationship:entry_date[:birth_date=YYYY-MM-DD]"
                         "[:adult=true|false]");
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

/* The household of the flags, with what start reads from files. */
typedef struct {
    exitflow_household_t hh;
    exitflow_member_t members[MAX_MEMBERS];
    char *last[MAX_MEMBERS];        /* msgpack of each member's --last */
    const char *file;               /* --file */
    const char *last_file;          /* --last */
    bool example, flags;
} start_t;

/* The prior values of --last FILE: {CLIENT_ID: {STEP: values}}, or a
 * household file (what --file takes, what --example prints) whose
 * members carry `last`. As a map of client id to prior values. */
static json_t *
read_last (cli_t *cli, const char *path)
{
    char arg[4096];
    snprintf (arg, sizeof arg, "@%s", path);
    json_t *j = cli_json_arg (cli, "--last", arg);
    if (!j)
        return NULL;
    json_t *members = json_object_get (j, "members");
    if (json_is_array (members)) {
        json_t *by_client = json_object ();
        size_t i;
        json_t *m;
        json_array_foreach (members, i, m) {
            json_t *id = json_object_get (m, "client_id");
            json_t *last = json_object_get (m, "last");
            if (json_is_string (id) && last)
                json_object_set (by_client, json_string_value (id), last);
        }
        json_decref (j);
        j = by_client;
    }
    if (!json_is_object (j)) {
        json_decref (j);
        cli_usage_error (cli, "--last takes a JSON object: {\"CLIENT_ID\": "
                         "{\"STEP\": {prior values}}}, or a household file "
                         "whose members carry \"last\"");
        return NULL;
    }
    return j;
}

/* Gives each --member its prior values from --last; every client the file
 * names must be one of them. */
static bool
attach_last (cli_t *cli, start_t *st)
{
    json_t *by_client = read_last (cli, st->last_file);
    if (!by_client)
        return false;
    const char *client;
    json_t *last;
    json_object_foreach (by_client, client, last) {
        size_t m = 0;
        while (m < st->hh.member_count
               && strcmp (st->members[m].client_id, client) != 0)
            m++;
        if (m == st->hh.member_count || !json_is_object (last)) {
            cli_usage_error (cli, m == st->hh.member_count
                             ? "--last: client %s is not a --member"
                             : "--last: the prior values of client %s are "
                               "not a JSON object {\"STEP\": {...}}", client);
            json_decref (by_client);
            return false;
        }
        free (st->last[m]);
        st->last[m] = cli_msgpack_from_json (last, &st->members[m].last_len);
        st->members[m].last = st->last[m];
    }
    json_decref (by_client);
    return true;
}

static void
start_free (start_t *st)
{
    for (size_t m = 0; m < MAX_MEMBERS; m++)
        free (st->last[m]);
}

/* Reads the options into `st`; false when the run ends here. */
static bool
start_options (cli_t *cli, int argc, char **argv, start_t *st)
{
    static const struct option own[] = {
        { "file", required_argument, NULL, OPT_FILE },
        { "example", no_argument, NULL, OPT_EXAMPLE },
        { "enrollment", required_argument, NULL, OPT_ENROLLMENT },
        { "household", required_argument, NULL, OPT_HOUSEHOLD },
        { "project", required_argument, NULL, OPT_PROJECT },
        { "project-type", required_argument, NULL, OPT_PROJECT_TYPE },
        { "move-in-date", required_argument, NULL, OPT_MOVE_IN },
        { "member", required_argument, NULL, OPT_MEMBER },
        { "last", required_argument, NULL, OPT_LAST },
        { 0 },
    };
    exitflow_household_t *hh = &st->hh;
    int64_t v;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        st->flags |= c != OPT_FILE && c != OPT_EXAMPLE;
        switch (c) {
        case OPT_FILE: st->file = optarg; break;
        case OPT_EXAMPLE: st->example = true; break;
        case OPT_ENROLLMENT: hh->enrollment_id = optarg; break;
        case OPT_HOUSEHOLD: hh->household_id = optarg; break;
        case OPT_PROJECT: hh->project_id = optarg; break;
        case OPT_PROJECT_TYPE:
            if (!cli_int_arg (cli, "--project-type", optarg, 0, 99, &v))
                return false;
            hh->project_type = (int) v;
            break;
        case OPT_MOVE_IN: hh->move_in_date = optarg; break;
        case OPT_LAST: st->last_file = optarg; break;
        case OPT_MEMBER:
            if (hh->member_count == MAX_MEMBERS) {
                cli_usage_error (cli, "at most %d members", MAX_MEMBERS);
                return false;
            }
            if (!parse_member (cli, optarg, &st->members[hh->member_count]))
                return false;
            hh->member_count++;
            break;
        }
    }
    if (c == CLI_STOP || !cli_positionals (cli, argc, argv, 0, 0))
        return false;
    if (st->example && (st->file || st->flags)) {
        cli_usage_error (cli, "--example prints a household file and takes "
                         "no other option");
        return false;
    }
    if (st->file && st->flags) {
        cli_usage_error (cli, "give --file or the flags, not both (the file "
                         "carries prior values itself, as members' \"last\")");
        return false;
    }
    if (!st->example && !st->file
        && (!hh->enrollment_id || !hh->household_id || !hh->project_id
            || hh->member_count == 0)) {
        cli_usage_error (cli, "give --file, or --enrollment, --household, "
                         "--project and at least one --member (exitflow "
                         "start --example prints a file to start from)");
        return false;
    }
    return !st->last_file || attach_last (cli, st);
}

/* --file: the workflow.start arguments as they are in the file. */
static exitflow_reply_t *
start_from_file (cli_t *cli, exitflow_client_t *client, const char *file,
                 exitflow_error_t *err)
{
    char arg[4096];
    snprintf (arg, sizeof arg, "@%s", file);
    json_t *j = cli_json_arg (cli, "--file", arg);
    if (!j)
        return NULL;
    if (!json_is_object (j)) {
        json_decref (j);
        cli_usage_error (cli, "--file must hold a JSON object (the "
                         "workflow.start arguments; exitflow start --example "
                         "prints one)");
        return NULL;
    }
    size_t len;
    char *args = cli_msgpack_from_json (j, &len);
    json_decref (j);
    cli->args_from_file = true;
    exitflow_reply_t *reply = exitflow_call (client,
                                             EXF_CMD_NAME (WORKFLOW_START),
                                             args, len, err);
    free (args);
    return reply;
}

int
cmd_start (cli_t *cli, int argc, char **argv)
{
    start_t st = { .hh = { .project_type = -1 } };
    int rc = EXIT_USAGE;
    if (!start_options (cli, argc, argv, &st)) {
        rc = cli->status;
        goto done;
    }
    if (st.example) {
        sample_t h;
        sample_new (&h);
        cli_print_json_doc (sample_start_args (&h));
        rc = EXIT_OK;
        goto done;
    }
    exitflow_client_t *client = cli_client (cli);
    if (!client) {
        rc = cli->status;
        goto done;
    }
    exitflow_error_t err;
    exitflow_reply_t *reply;
    if (st.file) {
        cli->status = EXIT_OK;
        reply = start_from_file (cli, client, st.file, &err);
        if (!reply && cli->status == EXIT_USAGE)
            goto done;
    } else {
        st.hh.members = st.members;
        reply = exitflow_start (client, &st.hh, &err);
    }
    if (!reply) {
        rc = cli_fail (cli, &err);
        goto done;
    }
    char text[256];
    snprintf (text, sizeof text, "Started workflow %s (v%lld)\n"
              "See it with: exitflow show %s",
              exitflow_reply_workflow_id (reply),
              (long long) exitflow_reply_version (reply),
              exitflow_reply_workflow_id (reply));
    rc = done (cli, reply, text);
done:
    start_free (&st);
    return rc;
}

/* ---- show ---- */

static void
show_text (cli_t *cli, const msgpack_object *view, const void *arg)
{
    (void) arg;
    show_render (stdout, view, cli_coc_zone (cli));
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
