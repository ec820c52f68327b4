/* args — the CLI's options and errors.
 *
 * Owns: the options every command accepts (and their environment
 * variables; the keys through the library's one rule), getopt over common + own options, usage errors, the command
 * client's creation, the mapping of an error value to an exit status, and
 * of the field a refusal names to the flag of this command it came from
 * (new_head_of_household → --new-hoh), through the command table. */
#include "cli.h"

#include "protocol/codec.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_ENDPOINT = 0x1000, OPT_EVENTS, OPT_JSON, OPT_TIMEOUT, OPT_RETRIES,
    OPT_ACTOR, OPT_CERT, OPT_SERVER_KEY, OPT_HELP, OPT_VERSION,
};

static const struct option common_options[] = {
    { "endpoint", required_argument, NULL, OPT_ENDPOINT },
    { "events", required_argument, NULL, OPT_EVENTS },
    { "json", no_argument, NULL, OPT_JSON },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "retries", required_argument, NULL, OPT_RETRIES },
    { "actor", required_argument, NULL, OPT_ACTOR },
    { "cert", required_argument, NULL, OPT_CERT },
    { "server-key", required_argument, NULL, OPT_SERVER_KEY },
    { "help", no_argument, NULL, OPT_HELP },
};
#define N_COMMON (sizeof common_options / sizeof common_options[0])

static int
env_int (const char *name, int dflt, int min, int max)
{
    const char *text = getenv (name);
    if (!text || !*text)
        return dflt;
    int64_t v;
    if (!codec_parse_int (text, min, max, &v)) {
        fprintf (stderr, "exitflow: ignoring %s=%s (not a number from %d to %d)\n",
                 name, text, min, max);
        return dflt;
    }
    return (int) v;
}

static const char *
env_str (const char *name, const char *dflt)
{
    const char *text = getenv (name);
    return text && *text ? text : dflt;
}

void
cli_defaults (cli_t *cli)
{
    memset (cli, 0, sizeof *cli);
    cli->endpoint = env_str ("EXITFLOW_ENDPOINT", CLI_DEFAULT_ENDPOINT);
    cli->events = env_str ("EXITFLOW_EVENTS", CLI_DEFAULT_EVENTS);
    cli->actor = env_str ("EXITFLOW_ACTOR", NULL);
    cli->timeout_ms = env_int ("EXITFLOW_TIMEOUT_MS", CLI_DEFAULT_TIMEOUT_MS,
                               1, 3600000);
    cli->retries = env_int ("EXITFLOW_RETRIES", CLI_DEFAULT_RETRIES, 0, 100);
    cli->rcvhwm = env_int ("EXITFLOW_RCVHWM", 0, 0, 10000000);
}

void
cli_print_help (const cli_t *cli, const cli_command_t *cmd, FILE *out)
{
    (void) cli;
    fprintf (out, "usage: exitflow %s%s%s\n\n%s.\n", cmd->name,
             *cmd->synopsis ? " " : "", cmd->synopsis, cmd->summary);
    if (cmd->help && *cmd->help)
        fprintf (out, "\noptions:\n%s", cmd->help);
    if (cmd->fields && *cmd->fields)
        fprintf (out, "\nfields:\n%s", cmd->fields);
    if (cmd->example && *cmd->example)
        fprintf (out, "\nexample:\n%s", cmd->example);
    fprintf (out,
        "\ncommon options:\n"
        "  --endpoint ENDPOINT   command socket (EXITFLOW_ENDPOINT, "
        CLI_DEFAULT_ENDPOINT ")\n"
        "  --events ENDPOINT     event socket (EXITFLOW_EVENTS, "
        CLI_DEFAULT_EVENTS ")\n"
        "  --json                print the result as JSON\n"
        "  --timeout MS          wait per attempt (EXITFLOW_TIMEOUT_MS, %d)\n"
        "  --retries N           re-sends after a timeout (EXITFLOW_RETRIES, %d)\n"
        "  --actor ID            your user id, recorded in events (EXITFLOW_ACTOR)\n"
        CLI_KEY_OPTIONS_HELP
        "  --help                this text\n"
        "\nexit status: 0 ok, 1 refused by the daemon, 2 usage, 3 unreachable\n",
        CLI_DEFAULT_TIMEOUT_MS, CLI_DEFAULT_RETRIES);
}

int
cli_usage_error (cli_t *cli, const char *fmt, ...)
{
    const char *name = cli->command ? cli->command->name : NULL;
    fprintf (stderr, "exitflow%s%s: ", name ? " " : "", name ? name : "");
    va_list ap;
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
    if (cli->command)
        fprintf (stderr, "usage: exitflow %s%s%s\n(see exitflow %s --help)\n",
                 cli->command->name, *cli->command->synopsis ? " " : "",
                 cli->command->synopsis, cli->command->name);
    else
        fprintf (stderr, "(see exitflow --help)\n");
    cli->status = EXIT_USAGE;
    return EXIT_USAGE;
}

bool
cli_int_arg (cli_t *cli, const char *option, const char *text, int64_t min,
             int64_t max, int64_t *out)
{
    if (!codec_parse_int (text, min, max, out)) {
        cli_usage_error (cli, "%s takes an integer from %lld to %lld, not '%s'",
                         option, (long long) min, (long long) max, text);
        return false;
    }
    return true;
}

/* A common option: true when handled (or failed: cli->status says). */
static bool
common_option (cli_t *cli, int c, const char *arg)
{
    int64_t v;
    switch (c) {
    case OPT_ENDPOINT: cli->endpoint = arg; return true;
    case OPT_EVENTS: cli->events = arg; return true;
    case OPT_JSON: cli->json = true; return true;
    case OPT_ACTOR: cli->actor = arg; return true;
    case OPT_CERT: cli->cert = arg; return true;
    case OPT_SERVER_KEY: cli->server_key = arg; return true;
    case OPT_TIMEOUT:
        if (cli_int_arg (cli, "--timeout", arg, 1, 3600000, &v))
            cli->timeout_ms = (int) v;
        return true;
    case OPT_RETRIES:
        if (cli_int_arg (cli, "--retries", arg, 0, 100, &v))
            cli->retries = (int) v;
        return true;
    default:
        return false;
    }
}

int
cli_getopt (cli_t *cli, int argc, char **argv, const struct option *own)
{
    struct option all[N_COMMON + 32];
    size_t n = 0;
    for (size_t i = 0; i < N_COMMON; i++)
        all[n++] = common_options[i];
    for (size_t i = 0; own && own[i].name && n < N_COMMON + 31; i++)
        all[n++] = own[i];
    memset (&all[n], 0, sizeof all[n]);

    opterr = 0;
    for (;;) {
        int c = getopt_long (argc, argv, ":h", all, NULL);
        if (c == -1)
            return 0;
        if (c == 'h' || c == OPT_HELP) {
            cli_print_help (cli, cli->command, stdout);
            cli->status = EXIT_OK;
            return CLI_STOP;
        }
        if (c == '?') {
            cli_usage_error (cli, "unknown option '%s'", argv[optind - 1]);
            return CLI_STOP;
        }
        if (c == ':') {
            cli_usage_error (cli, "option '%s' needs a value", argv[optind - 1]);
            return CLI_STOP;
        }
        cli->status = EXIT_OK;
        if (common_option (cli, c, optarg)) {
            if (cli->status != EXIT_OK)
                return CLI_STOP;
            continue;
        }
        return c;
    }
}

int
cli_global_options (cli_t *cli, int argc, char **argv)
{
    struct option all[N_COMMON + 2];
    size_t n = 0;
    for (size_t i = 0; i < N_COMMON; i++)
        all[n++] = common_options[i];
    all[n++] = (struct option) { "version", no_argument, NULL, OPT_VERSION };
    memset (&all[n], 0, sizeof all[n]);
    opterr = 0;
    optind = 0;
    for (;;) {
        /* "+": stop at the subcommand's name, its options are its own. */
        int c = getopt_long (argc, argv, "+:h", all, NULL);
        if (c == -1)
            break;
        if (c == 'h' || c == OPT_HELP) {
            cli->status = EXIT_OK;
            return CLI_HELP;        /* main prints the overview */
        }
        if (c == OPT_VERSION) {
            printf ("exitflow %s (EXITFLOW/1)\n", EXITFLOW_VERSION);
            cli->status = EXIT_OK;
            return -1;
        }
        if (c == '?' || c == ':') {
            fprintf (stderr, "exitflow: %s option '%s' (see exitflow --help)\n",
                     c == '?' ? "unknown" : "a value is missing for",
                     argv[optind - 1]);
            cli->status = EXIT_USAGE;
            return -1;
        }
        cli->status = EXIT_OK;
        common_option (cli, c, optarg);
        if (cli->status != EXIT_OK)
            return -1;
    }
    int first = optind;
    optind = 0;                     /* each handler starts getopt afresh */
    return first;
}

bool
cli_positionals (cli_t *cli, int argc, char **argv, int min, int max)
{
    int n = argc - optind;
    if (n < min) {
        cli_usage_error (cli, "missing argument%s", min - n > 1 ? "s" : "");
        return false;
    }
    if (max >= 0 && n > max) {
        cli_usage_error (cli, "unexpected argument '%s'", argv[optind + max]);
        return false;
    }
    return true;
}

exitflow_options_t
cli_options (const cli_t *cli)
{
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = cli->timeout_ms;
    o.retries = cli->retries;
    o.actor = cli->actor;
    o.rcvhwm = cli->rcvhwm;
    o.cert = cli->cert;
    o.server_key = cli->server_key;
    exitflow_options_from_env (&o, CLI_DEFAULT_CERT_NAME);
    return o;
}

bool
cli_keys_ok (cli_t *cli, const exitflow_options_t *o)
{
    exitflow_error_t err;
    if (exitflow_options_check (o, &err))
        return true;
    bool cert = strcmp (err.field, "cert") == 0;
    cli_usage_error (cli, "%s (%s)", err.message,
                     cert ? "--cert FILE, EXITFLOW_CERT, ./var/keys/ or "
                            "/etc/exitflow/keys/" CLI_DEFAULT_CERT_NAME "_secret"
                          : "--server-key FILE|Z85, EXITFLOW_SERVER_KEY, "
                            "./var/keys/ or /etc/exitflow/keys/server");
    return false;
}

bool
cli_endpoint_ok (cli_t *cli, const char *endpoint, const char *option,
                 const char *env)
{
    exitflow_error_t err;
    if (exitflow_endpoint_check (endpoint, &err))
        return true;
    cli_usage_error (cli, "%s (%s or %s)", err.message, option, env);
    return false;
}

exitflow_client_t *
cli_client (cli_t *cli)
{
    if (cli->client)
        return cli->client;
    if (!cli_endpoint_ok (cli, cli->endpoint, "--endpoint", "EXITFLOW_ENDPOINT"))
        return NULL;
    exitflow_options_t o = cli_options (cli);
    if (!cli_keys_ok (cli, &o))
        return NULL;
    cli->client = exitflow_client_new (cli->endpoint, &o);
    if (!cli->client)
        cli_usage_error (cli, "cannot use endpoint '%s': %s", cli->endpoint,
                         strerror (errno));
    return cli->client;
}

exitflow_client_t *
cli_simple_start (cli_t *cli, int argc, char **argv, int min, int max)
{
    int c;
    while ((c = cli_getopt (cli, argc, argv, NULL)) > 0)
        ;
    if (c == CLI_STOP || !cli_positionals (cli, argc, argv, min, max))
        return NULL;
    return cli_client (cli);
}

int
cli_reply (cli_t *cli, exitflow_reply_t *reply, const exitflow_error_t *err,
           cli_text_fn *text, const void *arg)
{
    if (!reply)
        return cli_fail (cli, err);
    const msgpack_object *res = exitflow_reply_result (reply);
    if (cli->json)
        cli_print_json (res);
    else
        text (cli, res, arg);
    exitflow_reply_destroy (&reply);
    return EXIT_OK;
}

/* The fields every command may be refused on. */
static const cli_field_flag_t common_flags[] = {
    { "expected_version", "--expected-version" },
    { "actor", "--actor (EXITFLOW_ACTOR)" },
    { "workflow_id", "WORKFLOW_ID" },
    { NULL, NULL },
};

/* `flag` with its "%s" (if any) replaced by the last name of `field`. */
static void
flag_text (const char *flag, const char *field, char *buf, size_t cap)
{
    const char *hole = strstr (flag, "%s");
    if (!hole) {
        snprintf (buf, cap, "%s", flag);
        return;
    }
    const char *last = strrchr (field, '.');
    last = last ? last + 1 : field;
    snprintf (buf, cap, "%.*s%s%s", (int) (hole - flag), flag, last, hole + 2);
}

static bool
match_flag (const cli_field_flag_t *map, const char *field, char *buf,
            size_t cap)
{
    for (size_t i = 0; map && map[i].field; i++)
        if (fnmatch (map[i].field, field, 0) == 0) {
            flag_text (map[i].flag, field, buf, cap);
            return true;
        }
    return false;
}

bool
cli_field_flag (const cli_t *cli, const char *field, char *buf, size_t cap)
{
    /* A JSON file's fields are the wire's own names: nothing to map. */
    if (!field[0] || cli->args_from_file)
        return false;
    return match_flag (cli->command ? cli->command->flags : NULL, field, buf,
                       cap)
           || match_flag (common_flags, field, buf, cap);
}

int
cli_fail (cli_t *cli, const exitflow_error_t *err)
{
    bool unreachable = strcmp (err->code, EXITFLOW_UNREACHABLE) == 0;
    /* Too large is the caller's mistake, found before sending: usage. */
    bool too_large = strcmp (err->code, EXITFLOW_TOO_LARGE) == 0;
    if (cli->json) {
        json_t *e = json_pack ("{s:s, s:s}", "code", err->code, "message",
                               err->message);
        if (err->field[0])
            json_object_set_new (e, "field", json_string (err->field));
        if (err->workflow_id[0])
            json_object_set_new (e, "workflow_id", json_string (err->workflow_id));
        if (err->version >= 0)
            json_object_set_new (e, "version", json_integer (err->version));
        json_t *doc = json_pack ("{s:b, s:o}", "ok", 0, "error", e);
        json_dumpf (doc, stderr, JSON_COMPACT);
        fputc ('\n', stderr);
        json_decref (doc);
    } else {
        fprintf (stderr, "exitflow %s: %s: %s", cli->command->name, err->code,
                 err->message);
        char flag[256];
        if (err->field[0] && cli_field_flag (cli, err->field, flag, sizeof flag))
            fprintf (stderr, " (field %s: %s)", err->field, flag);
        else if (err->field[0])
            fprintf (stderr, " (field %s)", err->field);
        if (err->workflow_id[0])
            fprintf (stderr, " (open workflow %s)", err->workflow_id);
        if (err->version >= 0)
            fprintf (stderr, " (current version %lld)", (long long) err->version);
        fputc ('\n', stderr);
        if (unreachable)
            fprintf (stderr, "is exitflowd running? (endpoint %s; set "
                     "--endpoint or EXITFLOW_ENDPOINT)\n", cli->endpoint);
    }
    return unreachable ? EXIT_UNREACHABLE
           : too_large ? EXIT_USAGE : EXIT_REFUSED;
}
