/* caller — who sent a request: the authenticated principal.
 *
 * Owns nothing but the type: auth.c fills it from the client's certificate
 * (or "local" in local mode), commands.c checks its role against the
 * command table, and the write path records its name in every event. */
#ifndef EXF_CALLER_H
#define EXF_CALLER_H

#include "protocol/codec.h"

typedef struct {
    char name[EXF_ID_MAX + 1];      /* the certificate's `name`, or "local" */
    unsigned role;                  /* one EXF_ROLE_* bit */
} caller_t;

#endif
