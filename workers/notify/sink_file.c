/* sink_file — notifications as JSON lines in a file (the default sink).
 * See sink.h. Each line is one notification; its "id" is the idempotency
 * key, so the file itself is the record of what was delivered. */
#include "workers/notify/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workers/common/wjson.h"

#define TAIL_BYTES (256 * 1024)

typedef struct {
    char path[SINK_SPEC_MAX];
} file_sink_t;

/* `{"id":"<id>",` — how every line of ours begins (notification_json
 * writes the id first, the same way). */
static void
line_head (const notification_t *n, char *out, size_t cap)
{
    json_t *id = wjson_text_or_null (n->id);
    char *quoted = json_dumps (id, JSON_ENCODE_ANY);
    json_decref (id);
    snprintf (out, cap, "{\"id\":%s,", quoted ? quoted : "null");
    free (quoted);
}

static bool
file_delivered (sink_t *self, const notification_t *n)
{
    file_sink_t *f = self->impl;
    int fd = open (f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool found = false;
    struct stat st;
    char *buf = NULL;
    if (fstat (fd, &st) == 0 && st.st_size > 0) {
        off_t from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
        size_t len = (size_t) (st.st_size - from);
        buf = malloc (len + 1);
        ssize_t got = buf ? pread (fd, buf, len, from) : -1;
        if (got > 0) {
            buf[got] = '\0';
            char head[8 + 6 * sizeof n->id];     /* each byte escaped */
            line_head (n, head, sizeof head);
            /* a match must start a line: at the file's start or after \n */
            for (char *p = buf; !found && (p = strstr (p, head)); p++)
                found = (p == buf && from == 0) || (p > buf && p[-1] == '\n');
        }
    }
    free (buf);
    close (fd);
    return found;
}

static sink_status_t
file_deliver (sink_t *self, const notification_t *n, char *why, size_t cap)
{
    file_sink_t *f = self->impl;
    if (file_delivered (self, n))
        return SINK_OK;
    char *json = notification_json (n);
    size_t json_len = strlen (json);
    sink_status_t status = SINK_OK;
    int fd = open (f->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf (why, cap, "open %s: %s", f->path, strerror (errno));
        status = SINK_RETRY;
    } else {
        /* a line torn by a crash gets ended first, so ours starts a line */
        struct stat st;
        char last = '\n';
        if (fstat (fd, &st) == 0 && st.st_size > 0
            && pread (fd, &last, 1, st.st_size - 1) != 1)
            last = '\n';
        char *line = malloc (json_len + 3);
        if (!line)
            abort ();
        size_t len = 0;
        if (last != '\n')
            line[len++] = '\n';
        memcpy (line + len, json, json_len);
        len += json_len;
        line[len++] = '\n';
        /* one write of the whole line: O_APPEND keeps lines whole */
        ssize_t w = write (fd, line, len);
        if (w != (ssize_t) len) {
            snprintf (why, cap, "write %s: %s", f->path,
                      w < 0 ? strerror (errno) : "short write");
            if (w > 0 && ftruncate (fd, lseek (fd, 0, SEEK_END) - w) != 0) {
                /* nothing more to do: the torn line has no newline */
            }
            status = SINK_RETRY;
        } else if (fsync (fd) != 0) {
            snprintf (why, cap, "fsync %s: %s", f->path, strerror (errno));
            status = SINK_RETRY;
        }
        free (line);
        close (fd);
    }
    free (json);
    return status;
}

static void
file_destroy (sink_t *self)
{
    free (self->impl);
}

sink_t *
sink_file_new (const char *path)
{
    sink_t *sink = calloc (1, sizeof *sink);
    file_sink_t *f = calloc (1, sizeof *f);
    if (!sink || !f) {
        free (sink);
        free (f);
        return NULL;
    }
    snprintf (f->path, sizeof f->path, "%s", path);
    sink->kind = "file";
    sink->impl = f;
    sink->deliver = file_deliver;
    sink->delivered = file_delivered;
    sink->destroy = file_destroy;
    return sink;
}
