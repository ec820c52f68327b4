/* names — the protocol's name tables. See names.h. */
#include "names.h"

#include <string.h>

const char *const exf_command_names[EXF_CMD_COUNT] = {
#define EXF_X(id, name) [EXF_CMD_##id] = name,
    EXF_COMMAND_LIST (EXF_X)
#undef EXF_X
};

const char *const exf_event_names[EXF_EV_COUNT] = {
#define EXF_X(id, name) [EXF_EV_##id] = name,
    EXF_EVENT_LIST (EXF_X)
#undef EXF_X
};

const char *const exf_role_names[EXF_ROLE_COUNT] = {
#define EXF_X(id, name) [EXF_ROLE_INDEX_##id] = name,
    EXF_ROLE_LIST (EXF_X)
#undef EXF_X
};

const exf_error_code_t exf_error_codes[] = {
    /* code                 final  transient */
    { EXF_BAD_REQUEST,      false, false },
    { EXF_UNKNOWN_COMMAND,  false, false },
    { EXF_NOT_FOUND,        true,  false },
    { EXF_CONFLICT,         true,  false },
    { EXF_INVALID_STATE,    true,  false },
    { EXF_VALIDATION,       true,  false },
    /* the caller's role, not the request: answered anew on every retry */
    { EXF_FORBIDDEN,        false, false },
    { EXF_UNAVAILABLE,      false, true },
    { EXF_INTERNAL,         false, true },
};

const size_t exf_error_code_count = sizeof exf_error_codes / sizeof *exf_error_codes;

static int
index_of (const char *const *names, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen (names[i]) == len && memcmp (names[i], name, len) == 0)
            return i;
    return -1;
}

int
exf_command_by_name (const char *name, size_t len)
{
    return index_of (exf_command_names, EXF_CMD_COUNT, name, len);
}

int
exf_event_by_name (const char *name, size_t len)
{
    return index_of (exf_event_names, EXF_EV_COUNT, name, len);
}

const exf_error_code_t *
exf_error_code (const char *code)
{
    for (size_t i = 0; i < exf_error_code_count; i++)
        if (strcmp (exf_error_codes[i].code, code) == 0)
            return &exf_error_codes[i];
    return NULL;
}

unsigned
exf_role_by_name (const char *name, size_t len)
{
    int i = index_of (exf_role_names, EXF_ROLE_COUNT, name, len);
    return i < 0 ? 0 : 1u << i;
}

const char *
exf_role_name (unsigned role)
{
    for (int i = 0; i < EXF_ROLE_COUNT; i++)
        if (role == 1u << i)
            return exf_role_names[i];
    return NULL;
}
