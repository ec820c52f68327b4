/* setup — endpoints and configuration text. See setup.h. */
#include "setup.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"

bool
setup_endpoint_valid (const char *endpoint, bool bind, char *why, size_t cap)
{
    const char *e = endpoint ? endpoint : "";
    if ((strncmp (e, "ipc://", 6) == 0 && e[6])
        || (strncmp (e, "inproc://", 9) == 0 && e[9]))
        return true;
    const char *colon = strrchr (e, ':');
    int64_t port;
    if (strncmp (e, "tcp://", 6) != 0 || !colon || colon - e < 7)
        snprintf (why, cap, "%.200s is not tcp://HOST:PORT, ipc://PATH or "
                  "inproc://NAME", e);
    else if (!(bind && strcmp (colon + 1, "*") == 0)
             && !codec_parse_int (colon + 1, 1, 65535, &port))
        snprintf (why, cap, "%.200s: the port must be 1 to 65535%s", e,
                  bind ? " (or *)" : "");
    else
        return true;
    return false;
}

char *
setup_read_text (const char *path, char *why, size_t cap)
{
    struct stat st;
    if (stat (path, &st) != 0) {
        snprintf (why, cap, "%s", strerror (errno));
        return NULL;
    }
    if (!S_ISREG (st.st_mode) || st.st_size > SETUP_CONFIG_MAX) {
        snprintf (why, cap, "not a regular file of at most %d bytes",
                  SETUP_CONFIG_MAX);
        return NULL;
    }
    FILE *f = fopen (path, "rb");
    char *text = f ? malloc ((size_t) st.st_size + 1) : NULL;
    size_t len = text ? fread (text, 1, (size_t) st.st_size, f) : 0;
    if (!f || !text || ferror (f)) {
        snprintf (why, cap, "%s", strerror (errno ? errno : EIO));
        free (text);
        text = NULL;
    } else {
        text[len] = '\0';
        if (memchr (text, '\0', len) || !codec_utf8_valid (text, len)) {
            snprintf (why, cap, "not a text file (ZPL, UTF-8)");
            free (text);
            text = NULL;
        }
    }
    if (f)
        fclose (f);
    return text;
}

static bool
is_empty_dir (const char *path)
{
    DIR *d = opendir (path);
    if (!d)
        return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir (d)))
        empty = !strcmp (e->d_name, ".") || !strcmp (e->d_name, "..");
    closedir (d);
    return empty;
}

bool
setup_private_dir (const char *path, bool *made, char *why, size_t cap)
{
    *made = mkdir (path, 0700) == 0;
    if (*made)
        return true;
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat (path, &st) == 0 && !S_ISDIR (st.st_mode))
        snprintf (why, cap, "%s exists and is not a directory", path);
    else if (e == EEXIST && !is_empty_dir (path))
        snprintf (why, cap, "%s exists and is not empty", path);
    else if (e == EEXIST && chmod (path, 0700))
        snprintf (why, cap, "cannot make %s private (0700): %s", path,
                  strerror (errno));
    else if (e != EEXIST)
        snprintf (why, cap, "cannot make %s: %s%s", path, strerror (e),
                  e == ENOENT ? " (its parent directory does not exist)" : "");
    else
        return true;
    return false;
}

const char *
setup_setting (const char *flag_value, const char *flag, const char *env,
               zconfig_t *file, const char *path, const char *fallback,
               char *from, size_t cap)
{
    const char *value = flag_value;
    snprintf (from, cap, "--%s", flag);
    const char *env_value = env ? getenv (env) : NULL;
    if (!value && env_value && *env_value) {
        value = env_value;
        snprintf (from, cap, "%s", env);
    }
    if (!value && file) {
        const char *key = path;
        if (!(value = zconfig_get (file, path, NULL)) && fallback)
            value = zconfig_get (file, key = fallback, NULL);
        snprintf (from, cap, "config %s", key);
    }
    return value;
}

bool
setup_listen_address (const char *text, const char *flag, const char *example,
                      struct sockaddr_storage *addr, socklen_t *len,
                      char *why, size_t cap)
{
    char host[64] = "";
    const char *port = NULL;
    if (text[0] == '[') {
        const char *close = strchr (text, ']');
        if (close && close[1] == ':' && (size_t) (close - text) < sizeof host) {
            snprintf (host, sizeof host, "%.*s", (int) (close - text - 1),
                      text + 1);
            port = close + 2;
        }
    } else {
        /* an IPv6 address without brackets would be ambiguous */
        const char *colon = strchr (text, ':');
        if (colon && !strchr (colon + 1, ':')
            && (size_t) (colon - text) < sizeof host) {
            snprintf (host, sizeof host, "%.*s", (int) (colon - text), text);
            port = colon + 1;
        }
    }
    int64_t number = 0;
    memset (addr, 0, sizeof *addr);
    struct sockaddr_in *in4 = (struct sockaddr_in *) addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) addr;
    /* inet_pton, not getaddrinfo: it takes only the full dotted form
     * (getaddrinfo would read "1.2.3" as 1.2.0.3) */
    bool ok = port && host[0] && codec_parse_int (port, 1, 65535, &number);
    if (ok && text[0] == '[') {
        ok = inet_pton (AF_INET6, host, &in6->sin6_addr) == 1;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons ((uint16_t) number);
        *len = sizeof *in6;
    } else if (ok) {
        ok = inet_pton (AF_INET, host, &in4->sin_addr) == 1;
        in4->sin_family = AF_INET;
        in4->sin_port = htons ((uint16_t) number);
        *len = sizeof *in4;
    }
    if (!ok)
        snprintf (why, cap, "%s takes ADDRESS:PORT: a numeric IPv4 address "
                  "or [IPv6] and a port from 1 to 65535 (e.g. %s)", flag,
                  example);
    return ok;
}
