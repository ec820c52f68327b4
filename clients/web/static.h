/* static — the pages: files of one directory, served as they are.
 *
 * Owns: mapping `/` to index.html and `/static/PATH` to the directory's
 * PATH, refusing any path that could leave the directory (`..`, hidden
 * names, odd characters, links out of it), and the content type of each
 * file by its extension (a table). Only regular files; what is refused is
 * 404, as what is missing. */
#ifndef EXF_WEB_STATIC_H
#define EXF_WEB_STATIC_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct static_files_t static_files_t;

/* NULL with the reason when `dir` is not a directory. */
static_files_t *static_new (const char *dir, char *why, size_t cap);
void static_destroy (static_files_t **self_p);

/* Whether `url` is one of the pages' (`/`, `/index.html`, `/static/...`). */
bool static_owns (const char *url);
/* The file of `url` as a response (Content-Type set), with *status 200;
 * or NULL with *status 404. */
struct MHD_Response *static_response (static_files_t *self, const char *url,
                                      unsigned *status);

#endif
