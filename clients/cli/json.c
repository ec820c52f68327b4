/* json — msgpack ↔ JSON for the CLI, through jansson.
 *
 * Owns: turning daemon results into JSON for --json, and turning JSON the
 * user gives (--data, --file, --findings) into the msgpack the library
 * sends. Integers stay integers both ways (HUD codes are ints). */
#include "cli.h"

#include "protocol/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A JSON string of `len` bytes (a new reference; never NULL). Strings from
 * the library are UTF-8 already (the codec's bounds pass refuses any
 * other), bin values need not be, and jansson refuses what is not: there
 * each byte that starts no valid sequence becomes U+FFFD, so --json output
 * is always valid JSON. */
static json_t *
string_of_bytes (const char *ptr, size_t len)
{
    json_t *j = json_stringn (ptr, len);
    if (j)
        return j;
    char *clean = malloc (len * 3 + 1);
    if (!clean)
        abort ();
    j = json_stringn (clean, codec_utf8_repair (ptr, len, clean));
    free (clean);
    if (!j)
        abort ();                   /* out of memory */
    return j;
}

json_t *
cli_json_from_msgpack (const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null ();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean (o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t) INT64_MAX)
            return json_real ((double) o->via.u64);
        return json_integer ((json_int_t) o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer ((json_int_t) o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real (o->via.f64);
    case MSGPACK_OBJECT_STR:
        /* bytes that are not UTF-8 (the daemon never sends them, but a
         * JSON printer must not fail) become U+FFFD */
        return string_of_bytes (o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return string_of_bytes (o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array ();
        for (uint32_t i = 0; i < o->via.array.size; i++)
            json_array_append_new (a, cli_json_from_msgpack (&o->via.array.ptr[i]));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object ();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            char key[256];
            if (k->type == MSGPACK_OBJECT_STR)
                snprintf (key, sizeof key, "%.*s", (int) k->via.str.size,
                          k->via.str.ptr);
            else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                snprintf (key, sizeof key, "%llu",
                          (unsigned long long) k->via.u64);
            else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                snprintf (key, sizeof key, "%lld", (long long) k->via.i64);
            else
                snprintf (key, sizeof key, "?");
            json_t *v = cli_json_from_msgpack (&o->via.map.ptr[i].val);
            if (json_object_set_new (m, key, v) != 0)
                json_object_set_new (m, "?", v ? v : json_null ());
        }
        return m;
    }
    default:
        return json_null ();
    }
}

/* A JSON value as msgpack (integers stay integers). */
static void
pack_json (msgpack_packer *pk, const json_t *j)
{
    switch (json_typeof (j)) {
    case JSON_OBJECT: {
        msgpack_pack_map (pk, json_object_size (j));
        const char *key;
        json_t *v;
        json_object_foreach ((json_t *) j, key, v) {
            size_t n = strlen (key);
            msgpack_pack_str (pk, n);
            msgpack_pack_str_body (pk, key, n);
            pack_json (pk, v);
        }
        break;
    }
    case JSON_ARRAY: {
        msgpack_pack_array (pk, json_array_size (j));
        size_t i;
        json_t *v;
        json_array_foreach ((json_t *) j, i, v)
            pack_json (pk, v);
        break;
    }
    case JSON_STRING: {
        size_t n = json_string_length (j);
        msgpack_pack_str (pk, n);
        msgpack_pack_str_body (pk, json_string_value (j), n);
        break;
    }
    case JSON_INTEGER: msgpack_pack_int64 (pk, json_integer_value (j)); break;
    case JSON_REAL: msgpack_pack_double (pk, json_real_value (j)); break;
    case JSON_TRUE: msgpack_pack_true (pk); break;
    case JSON_FALSE: msgpack_pack_false (pk); break;
    case JSON_NULL: msgpack_pack_nil (pk); break;
    }
}

char *
cli_msgpack_from_json (const json_t *j, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    pack_json (&pk, j);
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
    print_json (cli_json_from_msgpack (o), JSON_INDENT (2));
}

void
cli_print_json_line (const msgpack_object *o)
{
    print_json (cli_json_from_msgpack (o), JSON_COMPACT);
}

void
cli_print_json_doc (json_t *doc)
{
    print_json (doc, JSON_INDENT (2));
}
