/* static — files of the pages' directory, nothing outside it. See static.h. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "/static/"
#define FILE_MAX (16 * 1024 * 1024)
#define URL_PATH_MAX 256

struct static_files_t {
    char root[PATH_MAX];            /* resolved, no trailing slash */
};

static const struct { const char *ext; const char *type; } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".woff2", "font/woff2" },
};

/* A file of any other kind is not served: the browser would have to
 * guess its type, which nosniff forbids. */
static const char *
type_of (const char *path)
{
    const char *dot = strrchr (path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
        if (strcmp (dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

static_files_t *
static_new (const char *dir, char *why, size_t cap)
{
    static_files_t *self = calloc (1, sizeof *self);
    struct stat st;
    if (!self || !realpath (dir, self->root) || stat (self->root, &st) != 0
        || !S_ISDIR (st.st_mode)) {
        snprintf (why, cap, "%s is not a directory", dir);
        free (self);
        return NULL;
    }
    return self;
}

void
static_destroy (static_files_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

bool
static_owns (const char *url)
{
    return strcmp (url, "/") == 0 || strcmp (url, "/index.html") == 0
           || strncmp (url, PREFIX, strlen (PREFIX)) == 0;
}

/* Segments of letters, digits, `-`, `_` and `.`, none empty, none
 * starting with a dot (so no `.`, `..` or hidden file). */
static bool
path_safe (const char *rel)
{
    size_t n = strlen (rel);
    if (n == 0 || n > URL_PATH_MAX)
        return false;
    bool segment_start = true;
    for (size_t i = 0; i < n; i++) {
        char c = rel[i];
        if (c == '/') {
            if (segment_start)
                return false;
            segment_start = true;
            continue;
        }
        if (segment_start && c == '.')
            return false;
        segment_start = false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return !segment_start;
}

struct MHD_Response *
static_response (static_files_t *self, const char *url, unsigned *status)
{
    *status = MHD_HTTP_NOT_FOUND;
    const char *rel = strncmp (url, PREFIX, strlen (PREFIX)) == 0
                          ? url + strlen (PREFIX) : "index.html";
    const char *type = type_of (rel);
    if (!path_safe (rel) || !type)
        return NULL;
    char path[PATH_MAX], real[PATH_MAX];
    if ((size_t) snprintf (path, sizeof path, "%s/%s", self->root, rel)
            >= sizeof path
        || !realpath (path, real))
        return NULL;
    /* a link inside the directory may not lead out of it */
    size_t root_len = strlen (self->root);
    if (strncmp (real, self->root, root_len) != 0 || real[root_len] != '/')
        return NULL;
    int fd = open (real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0)
        return NULL;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > FILE_MAX) {
        close (fd);
        return NULL;
    }
    struct MHD_Response *r = MHD_create_response_from_fd ((uint64_t) st.st_size, fd);
    if (!r) {
        close (fd);
        return NULL;
    }
    MHD_add_response_header (r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    *status = MHD_HTTP_OK;
    return r;
}
