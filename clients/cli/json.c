/* json — msgpack ↔ JSON for the CLI, through jansson.
 *
 * Owns: printing daemon results as JSON for --json, and turning JSON the
 * user gives (--data, --file, --findings) into the msgpack the library
 * sends; the conversions themselves are clients/jsonpack.c's, shared with
 * exitflow-web. Integers stay integers both ways (HUD codes are ints). */
#include "cli.h"

#include "clients/jsonpack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *
cli_msgpack_from_json (const json_t *j, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    jsonpack_pack (&pk, j);
    *len = sb.size;
    return msgpack_sbuffer_release (&sb);
}

json_t *
cli_json_arg (cli_t *cli, const char *option, const char *text)
{
    json_error_t jerr;
    json_t *j;
    const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;
    if (text[0] == '@') {
        const char *path = text + 1;
        FILE *f = strcmp (path, "-") == 0 ? stdin : fopen (path, "r");
        if (!f) {
            cli_usage_error (cli, "%s: cannot read %s: %s", option, path,
                             strerror (errno));
            return NULL;
        }
        j = json_loadf (f, flags, &jerr);
        if (f != stdin)
            fclose (f);
    } else
        j = json_loads (text, flags, &jerr);
    if (!j)
        cli_usage_error (cli, "%s is not JSON: %s (line %d, column %d)",
                         option, jerr.text, jerr.line, jerr.column);
    return j;
}

/* Prints `j` and a newline on stdout, then releases it. */
static void
print_json (json_t *j, size_t flags)
{
    json_dumpf (j, stdout, flags | JSON_ENCODE_ANY);
    fputc ('\n', stdout);
    fflush (stdout);
    json_decref (j);
}

void
cli_print_json (const msgpack_object *o)
{
    print_json (jsonpack_from_msgpack (o), JSON_INDENT (2));
}

void
cli_print_json_line (const msgpack_object *o)
{
    print_json (jsonpack_from_msgpack (o), JSON_COMPACT);
}

void
cli_print_json_doc (json_t *doc)
{
    print_json (doc, JSON_INDENT (2));
}
