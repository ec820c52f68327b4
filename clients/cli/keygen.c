/* keygen — `exitflow keygen NAME --role ROLE --out DIR`.
 *
 * Owns: making a client's CURVE certificate pair as czmq writes it
 * (DIR/NAME, the public half the daemon's --certs directory holds, and
 * DIR/NAME_secret, mode 0600, the one the client's --cert names) with the
 * metadata the daemon reads: `name`, and `role`, one of protocol/names.h's
 * roles. An existing file is never overwritten. No daemon is involved. */
#include "cli.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/names.h"

#define NAME_MAX_LEN 64             /* the daemon's limit on `name` */

enum { OPT_ROLE = 1, OPT_OUT };

/* The name is a file name and a ZPL value: letters, digits, '.', '_' and
 * '-', not starting with '.' or '-'. */
static bool
name_ok (const char *name)
{
    size_t n = strlen (name);
    if (n == 0 || n > NAME_MAX_LEN || name[0] == '.' || name[0] == '-')
        return false;
    return strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789._-") == n;
}

/* DIR and its missing parents; new ones private to the user (they hold
 * secrets). */
static bool
make_dir (const char *dir)
{
    char path[PATH_MAX];
    if (snprintf (path, sizeof path, "%s", dir) >= (int) sizeof path)
        return errno = ENAMETOOLONG, false;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir (path, 0700) != 0 && errno != EEXIST)
            return false;
        *p = c;
        if (c == '\0')
            return true;
    }
}

/* Creates `path` empty with `mode` exactly (whatever the umask), failing
 * when it exists: the name is ours before anything is written. */
static bool
reserve (const char *path, mode_t mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return false;
    bool ok = fchmod (fd, mode) == 0;
    int e = errno;
    close (fd);
    errno = e;
    return ok;
}

/* Writes the pair; false after saying why. */
static bool
write_pair (cli_t *cli, zcert_t *cert, const char *public_file,
            const char *secret_file)
{
    const char *name = cli->command->name;
    if (!reserve (public_file, 0644)) {
        fprintf (stderr, "exitflow %s: %s: %s%s\n", name, public_file,
                 strerror (errno), errno == EEXIST ? " (not overwritten)" : "");
        return false;
    }
    if (!reserve (secret_file, 0600)) {
        fprintf (stderr, "exitflow %s: %s: %s%s\n", name, secret_file,
                 strerror (errno), errno == EEXIST ? " (not overwritten)" : "");
        unlink (public_file);
        return false;
    }
    /* zcert_save writes NAME and NAME_secret into the reserved files,
     * which keep their modes. */
    if (zcert_save (cert, public_file) != 0) {
        fprintf (stderr, "exitflow %s: cannot write %s: %s\n", name,
                 public_file, strerror (errno));
        unlink (public_file);
        unlink (secret_file);
        return false;
    }
    return true;
}

static void
print_result (cli_t *cli, zcert_t *cert, const char *public_file,
              const char *secret_file)
{
    const char *name = zcert_meta (cert, "name");
    const char *role = zcert_meta (cert, "role");
    if (cli->json) {
        cli_print_json_doc (json_pack ("{s:s, s:s, s:s, s:s, s:s}", "name",
                                       name, "role", role, "public_key",
                                       zcert_public_txt (cert), "public_file",
                                       public_file, "secret_file",
                                       secret_file));
        return;
    }
    printf ("%s\n", zcert_public_txt (cert));
    fprintf (stderr, "%s: public certificate of %s (role %s), for the daemon's "
             "--certs directory\n%s: its secret certificate (mode 0600), for "
             "--cert\n", public_file, name, role, secret_file);
}

int
cmd_keygen (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "role", required_argument, NULL, OPT_ROLE },
        { "out", required_argument, NULL, OPT_OUT },
        { NULL, 0, NULL, 0 },
    };
    const char *role = NULL, *out = NULL;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0)
        if (c == OPT_ROLE)
            role = optarg;
        else if (c == OPT_OUT)
            out = optarg;
    if (c == CLI_STOP)
        return cli->status;
    if (!cli_positionals (cli, argc, argv, 1, 1))
        return EXIT_USAGE;
    const char *name = argv[optind];
    if (!name_ok (name))
        return cli_usage_error (cli, "NAME takes 1 to %d letters, digits, '.', "
                                "'_' or '-' (not first: '.' or '-'), not '%s'",
                                NAME_MAX_LEN, name);
    if (!role || !exf_role_by_name (role, strlen (role)))
        return cli_usage_error (cli, "--role takes one of:" CLI_ROLE_WORDS
                                "%s%s", role ? ", not " : "", role ? role : "");
    if (!out || !*out)
        return cli_usage_error (cli, "--out DIR is required");

    char public_file[PATH_MAX], secret_file[PATH_MAX + 8];
    if (snprintf (public_file, sizeof public_file, "%s/%s", out, name)
            >= (int) sizeof public_file
        || !make_dir (out)) {
        fprintf (stderr, "exitflow %s: cannot make %s: %s\n",
                 cli->command->name, out, strerror (errno));
        return EXIT_REFUSED;
    }
    snprintf (secret_file, sizeof secret_file, "%s_secret", public_file);
    zcert_t *cert = zcert_new ();
    if (!cert) {
        fprintf (stderr, "exitflow %s: cannot make a key pair\n",
                 cli->command->name);
        return EXIT_REFUSED;
    }
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "role", "%s", role);
    int status = EXIT_REFUSED;
    if (write_pair (cli, cert, public_file, secret_file)) {
        print_result (cli, cert, public_file, secret_file);
        status = EXIT_OK;
    }
    zcert_destroy (&cert);
    return status;
}
