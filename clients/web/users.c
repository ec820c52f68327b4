/* users — the users file, password checks, `passwd`. See users.h. */
#include "users.h"

#include "settings.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <libgen.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "exitflow-web"
#define USERS_MAX 10000
#define LINE_MAX_BYTES 512
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

typedef struct {
    char name[USER_NAME_MAX + 1];
    user_role_t role;
    char hash[CRYPT_OUTPUT_SIZE];
} user_t;

struct users_t {
    pthread_mutex_t lock;
    char *path;
    user_t *users;
    size_t count;
    struct timespec mtime;          /* of the file last read */
    off_t size;
    ino_t ino;
};

static const struct { user_role_t role; const char *name; } roles[] = {
    { ROLE_CASEWORKER, "caseworker" },
    { ROLE_OPS, "ops" },
};

const char *
user_role_name (user_role_t role)
{
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        if (roles[i].role == role)
            return roles[i].name;
    return "";
}

static user_role_t
role_parse (const char *text, size_t len)
{
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        if (strlen (roles[i].name) == len
            && memcmp (roles[i].name, text, len) == 0)
            return roles[i].role;
    return ROLE_NONE;
}

static bool
name_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
           || c == '@';
}

static bool
name_valid_n (const char *name, size_t len)
{
    if (len == 0 || len > USER_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char (name[i]))
            return false;
    return true;
}

bool
user_name_valid (const char *name)
{
    return name && name_valid_n (name, strlen (name));
}

/* One line `name:role:hash` into `u`; false when malformed. The hash must
 * be a crypt(3) string this libcrypt can check (it starts with `$`). */
static bool
line_parse (char *line, user_t *u)
{
    char *c1 = strchr (line, ':');
    char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
    if (!c2 || !name_valid_n (line, (size_t) (c1 - line)))
        return false;
    u->role = role_parse (c1 + 1, (size_t) (c2 - c1 - 1));
    const char *hash = c2 + 1;
    size_t n = strlen (hash);
    if (u->role == ROLE_NONE || n == 0 || n >= sizeof u->hash || hash[0] != '$')
        return false;
    memcpy (u->name, line, (size_t) (c1 - line));
    u->name[c1 - line] = '\0';
    memcpy (u->hash, hash, n + 1);
    return true;
}

/* Every line of `f`; NULL with the reason (the line's number, never its
 * text: it holds a hash). */
static user_t *
file_parse (FILE *f, size_t *count, char *why, size_t cap)
{
    user_t *users = NULL;
    size_t n = 0, alloc = 0, lineno = 0;
    char line[LINE_MAX_BYTES + 2];
    while (fgets (line, sizeof line, f)) {
        lineno++;
        size_t len = strlen (line);
        if (len > LINE_MAX_BYTES) {
            snprintf (why, cap, "line %zu is longer than %d bytes", lineno,
                      LINE_MAX_BYTES);
            goto fail;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (n == USERS_MAX) {
            snprintf (why, cap, "more than %d users", USERS_MAX);
            goto fail;
        }
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            user_t *more = realloc (users, alloc * sizeof *users);
            if (!more) {
                snprintf (why, cap, "out of memory");
                goto fail;
            }
            users = more;
        }
        if (!line_parse (line, &users[n])) {
            snprintf (why, cap, "line %zu is not name:caseworker|ops:$hash",
                      lineno);
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp (users[i].name, users[n].name) == 0) {
                snprintf (why, cap, "line %zu names %s a second time",
                          lineno, users[n].name);
                goto fail;
            }
        n++;
    }
    *count = n;
    return users ? users : calloc (1, sizeof *users);
fail:
    free (users);
    return NULL;
}

/* Reads the file again when it is another file or changed since; keeps
 * the table it has when the new one cannot be read (said on stderr).
 * Called with the lock held. */
static bool
reload (users_t *self, bool first, char *why, size_t cap)
{
    struct stat st;
    if (stat (self->path, &st) != 0) {
        snprintf (why, cap, "%s", strerror (errno));
        return false;
    }
    if (!first && st.st_ino == self->ino && st.st_size == self->size
        && st.st_mtim.tv_sec == self->mtime.tv_sec
        && st.st_mtim.tv_nsec == self->mtime.tv_nsec)
        return true;
    if (!S_ISREG (st.st_mode)) {
        snprintf (why, cap, "not a regular file");
        return false;
    }
    FILE *f = fopen (self->path, "r");
    if (!f) {
        snprintf (why, cap, "%s", strerror (errno));
        return false;
    }
    size_t count = 0;
    user_t *users = file_parse (f, &count, why, cap);
    fclose (f);
    if (!users)
        return false;
    if (self->users)
        explicit_bzero (self->users, self->count * sizeof *self->users);
    free (self->users);
    self->users = users;
    self->count = count;
    self->mtime = st.st_mtim;
    self->size = st.st_size;
    self->ino = st.st_ino;
    if (!first)
        fprintf (stderr, PROGRAM ": users file read again: %zu users\n", count);
    /* the group may read it: a packaged gateway reads it as its group */
    if ((st.st_mode & 007) != 0)
        fprintf (stderr, PROGRAM ": warning: the users file is readable by "
                 "other users (mode %03o): chmod o-rwx it\n",
                 st.st_mode & 0777);
    return true;
}

users_t *
users_new (const char *path, char *why, size_t cap)
{
    users_t *self = calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (path))) {
        free (self);
        snprintf (why, cap, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    if (!reload (self, true, why, cap))
        users_destroy (&self);
    return self;
}

void
users_destroy (users_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    users_t *self = *self_p;
    if (self->users)
        explicit_bzero (self->users, self->count * sizeof *self->users);
    free (self->users);
    free (self->path);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

size_t
users_count (users_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t n = self->count;
    pthread_mutex_unlock (&self->lock);
    return n;
}

/* Equal strings, in a time that depends on their lengths only. */
static bool
same_secret (const char *a, const char *b)
{
    size_t na = strlen (a), nb = strlen (b);
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++)
        diff |= (unsigned char) (a[i] ^ b[i]);
    return diff == 0;
}

/* A yescrypt setting of the default cost with a fixed salt: what an
 * unknown name is hashed against. */
#define DECOY_SETTING "$y$j9T$F5Jx5fExrKuJdjUQwjPVv/"

/* What a session signed in with: the role and the hash, as one number
 * (FNV-1a), never 0. Another password or role is another stamp. */
static uint64_t
stamp_of (const user_t *u)
{
    uint64_t h = 1469598103934665603ULL;
    h = (h ^ (uint64_t) u->role) * 1099511628211ULL;
    for (const char *c = u->hash; *c; c++)
        h = (h ^ (unsigned char) *c) * 1099511628211ULL;
    return h ? h : 1;
}

/* The user `name`, from the file as it is now. Called with the lock
 * held. */
static const user_t *
user_find (users_t *self, const char *name)
{
    char why[160];
    if (!reload (self, false, why, sizeof why))
        fprintf (stderr, PROGRAM ": users file not read again (%s): keeping "
                 "the %zu users read before\n", why, self->count);
    const user_t *found = NULL;
    for (size_t i = 0; i < self->count && user_name_valid (name); i++)
        if (strcmp (self->users[i].name, name) == 0)
            found = &self->users[i];
    return found;
}

user_role_t
users_verify (users_t *self, const char *name, const char *password,
              uint64_t *stamp)
{
    char hash[CRYPT_OUTPUT_SIZE] = DECOY_SETTING;
    user_role_t role = ROLE_NONE;
    uint64_t st = 0;
    pthread_mutex_lock (&self->lock);
    const user_t *u = user_find (self, name);
    if (u) {
        memcpy (hash, u->hash, sizeof hash);
        role = u->role;
        st = stamp_of (u);
    }
    pthread_mutex_unlock (&self->lock);

    struct crypt_data *data = calloc (1, sizeof *data);
    if (!data)
        return ROLE_NONE;
    const char *out = crypt_rn (password, hash, data, sizeof *data);
    bool ok = out && out[0] != '*' && same_secret (out, hash);
    explicit_bzero (data, sizeof *data);
    free (data);
    explicit_bzero (hash, sizeof hash);
    if (stamp)
        *stamp = ok ? st : 0;
    return ok ? role : ROLE_NONE;
}

uint64_t
users_stamp (users_t *self, const char *name)
{
    pthread_mutex_lock (&self->lock);
    const user_t *u = user_find (self, name);
    uint64_t st = u ? stamp_of (u) : 0;
    pthread_mutex_unlock (&self->lock);
    return st;
}

/* ---- passwd ---- */

/* The password from stdin: from a terminal without echo, else the first
 * line. */
static bool
password_read (char *out, size_t cap)
{
    bool tty = isatty (STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf (stderr, "password: ");
        tcgetattr (STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = fgets (out, (int) cap, stdin) != NULL;
    if (tty) {
        tcsetattr (STDIN_FILENO, TCSAFLUSH, &old);
        fprintf (stderr, "\n");
    }
    if (!ok)
        return false;
    size_t n = strlen (out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return true;
}

/* `users` with `name`'s line replaced or added, written to a temporary
 * file beside the file, synced, then renamed over it: a reader sees the
 * old file or the new one, never half of one. The new file keeps the old
 * one's owner, group and mode (never others' bits): root changing a
 * password must not take the file away from a gateway that reads it as
 * its group. A first file is 0600, its maker's. */
static bool
file_write (const char *path, const user_t *users, size_t count,
            const user_t *u, char *why, size_t cap)
{
    char tmp[WEB_PATH_MAX + 16];
    snprintf (tmp, sizeof tmp, "%s.new", path);
    struct stat old;
    bool had = stat (path, &old) == 0;
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf (why, cap, "%s: %s", tmp, strerror (errno));
        return false;
    }
    if (had && ((old.st_uid != geteuid () || old.st_gid != getegid ())
                && fchown (fd, old.st_uid, old.st_gid) != 0)) {
        snprintf (why, cap, "%s: cannot keep its owner and group: %s", path,
                  strerror (errno));
        close (fd);
        unlink (tmp);
        return false;
    }
    if (had && fchmod (fd, old.st_mode & 0660) != 0) {
        snprintf (why, cap, "%s: cannot keep its mode: %s", path,
                  strerror (errno));
        close (fd);
        unlink (tmp);
        return false;
    }
    FILE *f = fdopen (fd, "w");
    bool replaced = false;
    for (size_t i = 0; f && i < count; i++) {
        const user_t *w = strcmp (users[i].name, u->name) == 0 ? u : &users[i];
        replaced |= w == u;
        fprintf (f, "%s:%s:%s\n", w->name, user_role_name (w->role), w->hash);
    }
    if (f && !replaced)
        fprintf (f, "%s:%s:%s\n", u->name, user_role_name (u->role), u->hash);
    bool ok = f && fflush (f) == 0 && fsync (fd) == 0;
    if (f ? fclose (f) != 0 : close (fd) != 0)
        ok = false;
    if (ok && rename (tmp, path) != 0)
        ok = false;
    if (!ok) {
        snprintf (why, cap, "%s: %s", path, strerror (errno));
        unlink (tmp);
    }
    return ok;
}

static int
passwd_usage (FILE *out, int status)
{
    fprintf (out, "usage: " PROGRAM " passwd NAME --role caseworker|ops "
             "[--users FILE] [--config FILE]\n"
             "Reads the password from stdin (a terminal: without echo; at "
             "least %d characters)\nand adds NAME to the users file, or "
             "changes its password and role.\n", PASSWORD_MIN);
    return status;
}

/* The users already in the file (none when it does not exist yet). */
static user_t *
existing_users (const char *path, size_t *count, char *why, size_t cap)
{
    FILE *f = fopen (path, "r");
    if (!f && errno == ENOENT) {
        *count = 0;
        return calloc (1, sizeof (user_t));
    }
    if (!f) {
        snprintf (why, cap, "%s", strerror (errno));
        return NULL;
    }
    user_t *users = file_parse (f, count, why, cap);
    fclose (f);
    return users;
}

int
users_passwd_main (int argc, char **argv)
{
    static const struct option options[] = {
        { "role", required_argument, NULL, 'r' },
        { "users", required_argument, NULL, 'u' },
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *role_text = NULL, *users = NULL, *config = NULL;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'r')
            role_text = optarg;
        else if (opt == 'u')
            users = optarg;
        else if (opt == 'c')
            config = optarg;
        else if (opt == 'h')
            return passwd_usage (stdout, 0);
        else
            return passwd_usage (stderr, 2);
    }
    if (optind + 1 != argc || !role_text)
        return passwd_usage (stderr, 2);
    user_t u = { .role = role_parse (role_text, strlen (role_text)) };
    if (u.role == ROLE_NONE || !user_name_valid (argv[optind])) {
        fprintf (stderr, PROGRAM " passwd: NAME is 1..%d letters, digits or "
                 "._-@ and --role caseworker or ops\n", USER_NAME_MAX);
        return 2;
    }
    snprintf (u.name, sizeof u.name, "%s", argv[optind]);
    web_settings_t s;
    if (web_settings_users_file (&s, config, users, stderr) != 0)
        return 2;

    char password[PASSWORD_MAX + 2];
    if (!password_read (password, sizeof password)
        || strlen (password) < PASSWORD_MIN || strlen (password) > PASSWORD_MAX) {
        fprintf (stderr, PROGRAM " passwd: a password of %d to %d characters "
                 "on stdin, please\n", PASSWORD_MIN, PASSWORD_MAX);
        return 2;
    }
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *data = calloc (1, sizeof *data);
    const char *hash = NULL;
    if (data && crypt_gensalt_rn ("$y$", 0, NULL, 0, setting, sizeof setting))
        hash = crypt_rn (password, setting, data, sizeof *data);
    explicit_bzero (password, sizeof password);
    if (!hash || hash[0] == '*') {
        fprintf (stderr, PROGRAM " passwd: crypt(3) cannot make a yescrypt "
                 "hash here\n");
        free (data);
        return 1;
    }
    snprintf (u.hash, sizeof u.hash, "%s", hash);
    explicit_bzero (data, sizeof *data);
    free (data);

    char why[WEB_PATH_MAX + 64];
    size_t count = 0;
    /* read, change, write under a lock on the file's directory, so two
     * passwd runs at once cannot lose one's change (or share the temporary
     * file); the directory is synced after the rename, so the new file is
     * there after a crash */
    char dir_path[WEB_PATH_MAX];
    snprintf (dir_path, sizeof dir_path, "%s", s.users);
    int dir = open (dirname (dir_path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || flock (dir, LOCK_EX) != 0) {
        fprintf (stderr, PROGRAM " passwd: cannot lock the directory of %s: "
                 "%s\n", s.users, strerror (errno));
        if (dir >= 0)
            close (dir);
        return 1;
    }
    user_t *all = existing_users (s.users, &count, why, sizeof why);
    bool ok = all && file_write (s.users, all, count, &u, why, sizeof why);
    if (ok && fsync (dir) != 0) {
        snprintf (why, sizeof why, "syncing its directory: %s",
                  strerror (errno));
        ok = false;
    }
    close (dir);                    /* and the lock with it */
    free (all);
    if (!ok) {
        fprintf (stderr, PROGRAM " passwd: cannot write %s: %s\n", s.users, why);
        return 1;
    }
    fprintf (stderr, PROGRAM " passwd: %s (%s) written to %s\n", u.name,
             user_role_name (u.role), s.users);
    return 0;
}
