/* sent_log — deliveries since the last ack, on disk. See sent_log.h. */
#include "workers/notify/sent_log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers/notify/sink.h"

typedef struct {
    uint64_t seq;
    char status[16];
    char sink[SINK_SPEC_MAX];
} entry_t;

struct sent_log {
    char path[1024];
    int fd;                         /* O_APPEND */
    size_t n, cap;
    entry_t *items;
};

static void
push (sent_log_t *self, uint64_t seq, const char *status, const char *sink)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->items = realloc (self->items, self->cap * sizeof *self->items);
        if (!self->items)
            abort ();
    }
    entry_t *e = &self->items[self->n++];
    e->seq = seq;
    snprintf (e->status, sizeof e->status, "%s", status);
    snprintf (e->sink, sizeof e->sink, "%s", sink);
}

static void
load (sent_log_t *self, FILE *in)
{
    char line[SINK_SPEC_MAX + 64];
    while (fgets (line, sizeof line, in)) {
        size_t len = strlen (line);
        if (len == 0 || line[len - 1] != '\n')
            break;                      /* torn by a crash: not written */
        line[len - 1] = '\0';
        char *end;
        errno = 0;
        unsigned long long seq = strtoull (line, &end, 10);
        if (errno || end == line || *end != ' ')
            continue;
        char *status = end + 1;
        char *sink = strchr (status, ' ');
        if (!sink)
            continue;
        *sink++ = '\0';
        push (self, (uint64_t) seq, status, sink);
    }
}

/* fsyncs the directory holding `path`, so a rename or create is durable. */
static void
sync_dir (const char *path)
{
    char copy[1024];
    snprintf (copy, sizeof copy, "%s", path);
    int fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync (fd);
        close (fd);
    }
}

static int rewrite (sent_log_t *self);

sent_log_t *
sent_log_new (const char *path, char *why, size_t cap)
{
    sent_log_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    snprintf (self->path, sizeof self->path, "%s", path);
    FILE *in = fopen (path, "r");
    if (in) {
        load (self, in);
        fclose (in);
    }
    self->fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (self->fd < 0) {
        snprintf (why, cap, "cannot open state file %s: %s", path,
                  strerror (errno));
        sent_log_destroy (&self);
        return NULL;
    }
    /* a torn last line would glue itself to the next append: rewrite */
    if (rewrite (self) != 0) {
        snprintf (why, cap, "cannot rewrite state file %s: %s", path,
                  strerror (errno));
        sent_log_destroy (&self);
        return NULL;
    }
    return self;
}

void
sent_log_destroy (sent_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sent_log_t *self = *self_p;
    if (self->fd >= 0)
        close (self->fd);
    free (self->items);
    free (self);
    *self_p = NULL;
}

bool
sent_log_has (const sent_log_t *self, uint64_t seq, const char *sink)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->items[i].seq == seq && strcmp (self->items[i].sink, sink) == 0)
            return true;
    return false;
}

int
sent_log_add (sent_log_t *self, uint64_t seq, const char *sink,
              const char *status)
{
    if (strlen (sink) >= SINK_SPEC_MAX || strpbrk (sink, " \n")
        || strpbrk (status, " \n"))
        return EINVAL;
    char line[SINK_SPEC_MAX + 64];
    int len = snprintf (line, sizeof line, "%llu %s %s\n",
                        (unsigned long long) seq, status, sink);
    if (write (self->fd, line, (size_t) len) != len)
        return errno ? errno : EIO;
    if (fsync (self->fd) != 0)
        return errno;
    push (self, seq, status, sink);
    return 0;
}

/* Writes the entries to a new file and renames it over the old one. */
static int
rewrite (sent_log_t *self)
{
    char tmp[1100];
    snprintf (tmp, sizeof tmp, "%s.tmp", self->path);
    FILE *out = fopen (tmp, "w");
    if (!out)
        return errno;
    for (size_t i = 0; i < self->n; i++)
        fprintf (out, "%llu %s %s\n", (unsigned long long) self->items[i].seq,
                 self->items[i].status, self->items[i].sink);
    int rc = 0;
    if (fflush (out) != 0 || fsync (fileno (out)) != 0)
        rc = errno;
    if (fclose (out) != 0 && !rc)
        rc = errno;
    if (!rc && rename (tmp, self->path) != 0)
        rc = errno;
    if (rc) {
        unlink (tmp);
        return rc;
    }
    sync_dir (self->path);
    int fd = open (self->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return errno;
    close (self->fd);
    self->fd = fd;
    return 0;
}

int
sent_log_trim (sent_log_t *self, uint64_t acked)
{
    size_t keep = 0;
    for (size_t i = 0; i < self->n; i++)
        if (self->items[i].seq > acked)
            self->items[keep++] = self->items[i];
    if (keep == self->n)
        return 0;
    self->n = keep;
    return rewrite (self);
}

size_t
sent_log_size (const sent_log_t *self)
{
    return self->n;
}
