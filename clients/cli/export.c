/* export — `exitflow export`: the HUD HMIS CSV files of the exits finished
 * on a span of the CoC's days.
 *
 * Owns: the files' layouts (each header exactly as the HMIS CSV Format
 * Specifications FY2024 list it; the same columns in FY2026 v1.0 for these
 * five files), how a value is written (RFC 4180 quoting, only when a field
 * needs it; CRLF; UTF-8; dates YYYY-MM-DD, datetimes YYYY-MM-DD HH:MM:SS in
 * the CoC's zone, money with two decimals), the rows of an exit, and the
 * directory (new or empty, 0700; each file written under a temporary name,
 * 0600, and renamed once every page has come).
 *
 * Which answer goes to which column is protocol/hud_fields.h's table and
 * nothing else: a field goes to the file whose header has its `column`
 * (Disabilities.csv: one row per answered DisabilityType, the field's
 * `disability_type`, its `pair` the IndefiniteAndImpairs); `local_` fields
 * have no column and are never exported. The daemon checks the role
 * (workflow.export: ops and admin). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "protocol/calendar.h"
#include "protocol/hud_fields.h"
#include "protocol/setup.h"

#define CSV_VERSION "FY2024"            /* Export.csv CSVVersion */
#define SOFTWARE_NAME "exitflow"
#ifndef EXITFLOW_RELEASE
#define EXITFLOW_RELEASE EXITFLOW_VERSION       /* built outside make */
#endif
#define STAGE_EXIT "3"                  /* DataCollectionStage 5.03.1 */
#define PERIOD_UPDATED "1"              /* ExportPeriodType 1.1 */
#define DIRECTIVE_DELTA "1"             /* ExportDirective 1.2 */
#define HASH_UNHASHED "1"               /* HashStatus 1.5 */
#define SOURCE_OTHER 4                  /* SourceType: not the CoC's HMIS */
#define MAX_COLUMNS 80
#define CELL_MAX 512                    /* text ≤ 500 characters fits */

/* ---- the layouts (HMIS CSV FY2024) ---- */

static const char *const exit_columns[] = {
    "ExitID", "EnrollmentID", "PersonalID", "ExitDate", "Destination",
    "DestinationSubsidyType", "OtherDestination", "HousingAssessment",
    "SubsidyInformation", "ProjectCompletionStatus", "EarlyExitReason",
    "ExchangeForSex", "ExchangeForSexPastThreeMonths",
    "CountOfExchangeForSex", "AskedOrForcedToExchangeForSex",
    "AskedOrForcedToExchangeForSexPastThreeMonths",
    "WorkplaceViolenceThreats", "WorkplacePromiseDifference",
    "CoercedToContinueWork", "LaborExploitPastThreeMonths",
    "CounselingReceived", "IndividualCounseling", "FamilyCounseling",
    "GroupCounseling", "SessionCountAtExit", "PostExitCounselingPlan",
    "SessionsInPlan", "DestinationSafeClient", "DestinationSafeWorker",
    "PosAdultConnections", "PosPeerConnections", "PosCommunityConnections",
    "AftercareDate", "AftercareProvided", "EmailSocialMedia", "Telephone",
    "InPersonIndividual", "InPersonGroup", "CMExitReason", "DateCreated",
    "DateUpdated", "UserID", "DateDeleted", "ExportID",
};

static const char *const income_benefits_columns[] = {
    "IncomeBenefitsID", "EnrollmentID", "PersonalID", "InformationDate",
    "IncomeFromAnySource", "TotalMonthlyIncome", "Earned", "EarnedAmount",
    "Unemployment", "UnemploymentAmount", "SSI", "SSIAmount", "SSDI",
    "SSDIAmount", "VADisabilityService", "VADisabilityServiceAmount",
    "VADisabilityNonService", "VADisabilityNonServiceAmount",
    "PrivateDisability", "PrivateDisabilityAmount", "WorkersComp",
    "WorkersCompAmount", "TANF", "TANFAmount", "GA", "GAAmount",
    "SocSecRetirement", "SocSecRetirementAmount", "Pension", "PensionAmount",
    "ChildSupport", "ChildSupportAmount", "Alimony", "AlimonyAmount",
    "OtherIncomeSource", "OtherIncomeAmount", "OtherIncomeSourceIdentify",
    "BenefitsFromAnySource", "SNAP", "WIC", "TANFChildCare",
    "TANFTransportation", "OtherTANF", "OtherBenefitsSource",
    "OtherBenefitsSourceIdentify", "InsuranceFromAnySource", "Medicaid",
    "NoMedicaidReason", "Medicare", "NoMedicareReason", "SCHIP",
    "NoSCHIPReason", "VHAServices", "NoVHAReason", "EmployerProvided",
    "NoEmployerProvidedReason", "COBRA", "NoCOBRAReason", "PrivatePay",
    "NoPrivatePayReason", "StateHealthIns", "NoStateHealthInsReason",
    "IndianHealthServices", "NoIndianHealthServicesReason", "OtherInsurance",
    "OtherInsuranceIdentify", "ADAP", "NoADAPReason", "RyanWhiteMedDent",
    "NoRyanWhiteReason", "ConnectionWithSOAR", "DataCollectionStage",
    "DateCreated", "DateUpdated", "UserID", "DateDeleted", "ExportID",
};

static const char *const health_and_dv_columns[] = {
    "HealthAndDVID", "EnrollmentID", "PersonalID", "InformationDate",
    "DomesticViolenceSurvivor", "WhenOccurred", "CurrentlyFleeing",
    "GeneralHealthStatus", "DentalHealthStatus", "MentalHealthStatus",
    "PregnancyStatus", "DueDate", "DataCollectionStage", "DateCreated",
    "DateUpdated", "UserID", "DateDeleted", "ExportID",
};

static const char *const disabilities_columns[] = {
    "DisabilitiesID", "EnrollmentID", "PersonalID", "InformationDate",
    "DisabilityType", "DisabilityResponse", "IndefiniteAndImpairs",
    "TCellCountAvailable", "TcellCount", "TcellSource", "ViralLoadAvailable",
    "ViralLoad", "ViralLoadSource", "AntiRetroviral", "DataCollectionStage",
    "DateCreated", "DateUpdated", "UserID", "DateDeleted", "ExportID",
};

static const char *const export_columns[] = {
    "ExportID", "SourceType", "SourceID", "SourceName", "SourceContactFirst",
    "SourceContactLast", "SourceContactPhone", "SourceContactExtension",
    "SourceContactEmail", "ExportDate", "ExportStartDate", "ExportEndDate",
    "SoftwareName", "SoftwareVersion", "CSVVersion", "ExportPeriodType",
    "ExportDirective", "HashStatus", "ImplementationID",
};

#define COLUMNS(a) a, (int) (sizeof a / sizeof a[0])

/* A file: its name, its header, whether an exit makes one row of it per
 * answered disability (else one per exiting member with a step that
 * feeds it), and the rows written. */
typedef struct {
    const char *name;
    const char *const *columns;
    int n_columns;
    bool per_disability;
    FILE *out;
    int rows;
} csv_file_t;

enum { FILE_EXIT, FILE_INCOME_BENEFITS, FILE_HEALTH_AND_DV,
       FILE_DISABILITIES, FILE_EXPORT, FILE_COUNT };

static const csv_file_t layouts[FILE_COUNT] = {
    [FILE_EXIT] = { "Exit.csv", COLUMNS (exit_columns), false, NULL, 0 },
    [FILE_INCOME_BENEFITS] = { "IncomeBenefits.csv",
                               COLUMNS (income_benefits_columns), false,
                               NULL, 0 },
    [FILE_HEALTH_AND_DV] = { "HealthAndDV.csv",
                             COLUMNS (health_and_dv_columns), false, NULL,
                             0 },
    [FILE_DISABILITIES] = { "Disabilities.csv",
                            COLUMNS (disabilities_columns), true, NULL, 0 },
    [FILE_EXPORT] = { "Export.csv", COLUMNS (export_columns), false, NULL,
                      0 },
};

static int
column_of (const csv_file_t *f, const char *column)
{
    for (int i = 0; column && i < f->n_columns; i++)
        if (strcmp (f->columns[i], column) == 0)
            return i;
    return -1;
}

/* ---- rows ---- */

typedef struct {
    const csv_file_t *file;
    char cells[MAX_COLUMNS][CELL_MAX];
} csv_row_t;

static void
row_init (csv_row_t *row, const csv_file_t *file)
{
    row->file = file;
    for (int i = 0; i < file->n_columns; i++)
        row->cells[i][0] = '\0';
}

/* Sets `column` when the file has it (the metadata columns every file
 * gets are not in every header). */
static void
row_set (csv_row_t *row, const char *column, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void
row_set (csv_row_t *row, const char *column, const char *fmt, ...)
{
    int i = column_of (row->file, column);
    if (i < 0)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (row->cells[i], CELL_MAX, fmt, ap);
    va_end (ap);
}

/* RFC 4180: a field is quoted only when it holds a comma, a double quote
 * or a line break, its quotes doubled. */
static void
write_cell (FILE *out, const char *cell)
{
    if (!strpbrk (cell, ",\"\r\n")) {
        fputs (cell, out);
        return;
    }
    fputc ('"', out);
    for (const char *p = cell; *p; p++) {
        if (*p == '"')
            fputc ('"', out);
        fputc (*p, out);
    }
    fputc ('"', out);
}

static void
write_line (FILE *out, const char *const *cells, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            fputc (',', out);
        write_cell (out, cells[i]);
    }
    fputs ("\r\n", out);
}

static void
row_write (csv_file_t *file, const csv_row_t *row)
{
    const char *cells[MAX_COLUMNS];
    for (int i = 0; i < file->n_columns; i++)
        cells[i] = row->cells[i];
    write_line (file->out, cells, file->n_columns);
    file->rows++;
}

/* ---- values ---- */

/* A datetime of the wire (RFC 3339 UTC) in the CoC's zone, as the spec
 * writes one; "" when absent. */
static void
local_datetime (const char *rfc3339, char *buf, size_t cap)
{
    int64_t ms;
    buf[0] = '\0';
    if (rfc3339 && fmt_parse_time (rfc3339, &ms))
        fmt_local_time (rfc3339, "%Y-%m-%d %H:%M:%S", buf, cap);
}

/* The answer `f` in step data `data`, written as the spec wants its type;
 * "" when absent or nil. */
static void
field_value (const hud_field_t *f, const msgpack_object *data, char *buf,
             size_t cap)
{
    const msgpack_object *v = exitflow_obj_get (data, f->name);
    buf[0] = '\0';
    if (!v)
        return;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        snprintf (buf, cap, f->type == FIELD_AMOUNT ? "%llu.00" : "%llu",
                  (unsigned long long) v->via.u64);
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        snprintf (buf, cap, "%lld", (long long) v->via.i64);
    else if (v->type == MSGPACK_OBJECT_FLOAT32
             || v->type == MSGPACK_OBJECT_FLOAT64)
        snprintf (buf, cap, "%.2f", v->via.f64);
    else if (v->type == MSGPACK_OBJECT_STR)
        snprintf (buf, cap, "%.*s", (int) v->via.str.size, v->via.str.ptr);
}

/* ---- an exit's rows ---- */

/* What the rows of one exiting member are made from. */
typedef struct {
    const char *workflow_id;
    int index;                          /* the member's place in the view:
                                           fixed at start, so ids are stable */
    const msgpack_object *member;       /* the view's */
    const msgpack_object *exit;         /* the export's exit item */
    char exit_date[16];
    const char *export_id;
} member_rows_t;

/* The view's step `name` of the member, when done. */
static const msgpack_object *
done_step (const member_rows_t *m, const char *name)
{
    uint32_t n;
    const msgpack_object *steps = mp_array (m->member, "steps", &n);
    for (uint32_t i = 0; i < n; i++)
        if (mp_is_str (exitflow_obj_get (&steps[i], "name"), name))
            return mp_is_str (exitflow_obj_get (&steps[i], "status"), "done")
                   ? &steps[i] : NULL;
    return NULL;
}

/* Whether field `f` goes to `row` (its column is in the file; in a file
 * of disabilities, only the fields of the row's DisabilityType). */
static bool
feeds (const csv_row_t *row, const hud_field_t *f, int disability_type)
{
    return column_of (row->file, f->column) >= 0
           && (!row->file->per_disability
               || f->disability_type == disability_type);
}

/* The metadata of a row fed by these steps: created when the first of
 * them was first saved, by whom; updated when the last was last saved. */
typedef struct {
    char created[32], updated[32], user[EXF_ID_MAX + 1];
} row_meta_t;

static void
meta_add (row_meta_t *meta, const member_rows_t *m, const msgpack_object *step)
{
    char name[32], at[32], by[EXF_ID_MAX + 1], last[32];
    const msgpack_object *first = exitflow_obj_get (
        exitflow_obj_get (m->exit, "first_saved"),
        mp_str (step, "name", name, sizeof name, ""));
    mp_str (first, "at", at, sizeof at, "");
    mp_str (first, "by", by, sizeof by, "");
    mp_str (step, "completed_at", last, sizeof last, "");
    /* RFC 3339 UTC with milliseconds: text order is time order */
    if (!meta->created[0] || strcmp (at, meta->created) < 0) {
        snprintf (meta->created, sizeof meta->created, "%s", at);
        snprintf (meta->user, sizeof meta->user, "%s", by);
    }
    if (strcmp (last, meta->updated) > 0)
        snprintf (meta->updated, sizeof meta->updated, "%s", last);
}

/* Exit.csv's dependent columns: empty unless the destination asks for
 * them (3.12.A for 435, "specify" for 17). */
static void
clear_dependents (csv_row_t *row, const msgpack_object *exit_data)
{
    int64_t code = mp_int (exit_data, "destination", -1);
    const hud_destination_t *d = hud_destination (code);
    for (int s = 0; s < hud_step_fields[STEP_EXIT].n; s++) {
        const hud_field_t *f = &hud_step_fields[STEP_EXIT].fields[s];
        bool needed = f->list == HUD_LIST_SUBSIDY_TYPE && f->type == FIELD_CODE
                      ? d && d->needs_subsidy_type
                      : f->role == ROLE_IDENTIFY ? d && d->needs_other_text
                                                 : true;
        if (!needed)
            row_set (row, f->column, "%s", "");
    }
}

/* Fills `row` from every done step of the member with a field that feeds
 * it; false when none does (no row). */
static bool
fill_row (csv_row_t *row, const member_rows_t *m, int disability_type)
{
    row_meta_t meta = { "", "", "" };
    bool any = false;
    for (int s = 0; s < STEP_COUNT; s++) {
        const msgpack_object *step = done_step (m, hud_steps[s].name);
        const msgpack_object *data = exitflow_obj_get (step, "data");
        bool fed = false;
        for (int i = 0; step && i < hud_step_fields[s].n; i++) {
            const hud_field_t *f = &hud_step_fields[s].fields[i];
            if (!feeds (row, f, disability_type))
                continue;
            char value[CELL_MAX];
            field_value (f, data, value, sizeof value);
            /* a disability row is there only for an answered type */
            if (row->file->per_disability && f->role == ROLE_ANSWER
                && !value[0])
                return false;
            row_set (row, f->column, "%s", value);
            fed = true;
        }
        if (fed)
            meta_add (&meta, m, step);
        any |= fed;
    }
    if (!any)
        return false;
    if (row->file->columns == exit_columns)
        clear_dependents (row, exitflow_obj_get (done_step (m, "exit"),
                                                 "data"));
    char at[32], id_buf[EXF_ID_MAX + 1], cid[EXF_ID_MAX + 1];
    char first_id[80];
    snprintf (first_id, sizeof first_id, "%s-%02d", m->workflow_id, m->index);
    if (row->file->per_disability) {
        snprintf (first_id + strlen (first_id),
                  sizeof first_id - strlen (first_id), "-%d", disability_type);
        row_set (row, "DisabilityType", "%d", disability_type);
    }
    row_set (row, row->file->columns[0], "%s", first_id);
    row_set (row, "EnrollmentID", "%s",
             mp_str (m->member, "enrollment_id", id_buf, sizeof id_buf, ""));
    row_set (row, "PersonalID", "%s",
             mp_str (m->member, "client_id", cid, sizeof cid, ""));
    row_set (row, "InformationDate", "%s", m->exit_date);
    row_set (row, "DataCollectionStage", STAGE_EXIT);
    local_datetime (meta.created, at, sizeof at);
    row_set (row, "DateCreated", "%s", at);
    local_datetime (meta.updated, at, sizeof at);
    row_set (row, "DateUpdated", "%s", at);
    row_set (row, "UserID", "%s", meta.user);
    row_set (row, "ExportID", "%s", m->export_id);
    return true;
}

/* The rows of one exiting member in every file but Export.csv: one in
 * each file a done step feeds, and in Disabilities.csv one per answered
 * disability (the table's answer fields with a DisabilityType). */
static void
write_member (csv_file_t files[FILE_COUNT], const member_rows_t *m)
{
    csv_row_t row;
    for (int k = 0; k < FILE_COUNT; k++) {
        if (k == FILE_EXPORT)
            continue;
        if (!files[k].per_disability) {
            row_init (&row, &files[k]);
            if (fill_row (&row, m, 0))
                row_write (&files[k], &row);
            continue;
        }
        for (int s = 0; s < STEP_COUNT; s++)
            for (int i = 0; i < hud_step_fields[s].n; i++) {
                const hud_field_t *f = &hud_step_fields[s].fields[i];
                if (f->role != ROLE_ANSWER || !f->disability_type)
                    continue;
                row_init (&row, &files[k]);
                if (fill_row (&row, m, f->disability_type))
                    row_write (&files[k], &row);
            }
    }
}

/* ---- the files in their directory ---- */

typedef struct {
    /* the command line */
    const char *from, *to, *dir;
    bool include_demo;
    int64_t source_type;
    const char *source_id, *source_name, *implementation_id;
    /* the run */
    bool made_dir;
    csv_file_t files[FILE_COUNT];
    char temp[FILE_COUNT][4096];
    char export_id[40], span_from[16], span_to[16], zone[64];
    int64_t workflows, exits, demo_skipped;
} export_t;

/* DIR new or empty, and 0700 (setup.h): the files of one export, and
 * client data. A usage error otherwise. */
static bool
prepare_dir (cli_t *cli, export_t *x)
{
    char why[4200];
    if (setup_private_dir (x->dir, &x->made_dir, why, sizeof why))
        return true;
    cli_usage_error (cli, "--out %s: an export goes into a new or empty "
                     "directory, so that its files are one export's", why);
    return false;
}

/* Opens every file under a temporary name (0600, whatever the umask) and
 * writes its header. */
static bool
open_files (export_t *x, char *why, size_t cap)
{
    for (int k = 0; k < FILE_COUNT; k++) {
        x->files[k] = layouts[k];
        snprintf (x->temp[k], sizeof x->temp[k], "%s/.%s.part", x->dir,
                  layouts[k].name);
        int fd = open (x->temp[k], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                       0600);
        if (fd < 0 || fchmod (fd, 0600) != 0
            || !(x->files[k].out = fdopen (fd, "w"))) {
            snprintf (why, cap, "cannot write %s: %s", x->temp[k],
                      strerror (errno));
            if (fd >= 0)
                close (fd);
            return false;
        }
        write_line (x->files[k].out, layouts[k].columns,
                    layouts[k].n_columns);
    }
    return true;
}

/* Closes the files; with `keep`, each durable under its final name (a
 * reader never sees a half-written file), else gone, and the directory
 * too when this run made it. */
static bool
close_files (export_t *x, bool keep, char *why, size_t cap)
{
    bool ok = true;
    for (int k = 0; k < FILE_COUNT; k++) {
        FILE *out = x->files[k].out;
        x->files[k].out = NULL;
        /* a write stdio flushed on its own and lost shows in ferror */
        if (out && keep && (fflush (out) != 0 || ferror (out)
                            || fsync (fileno (out)) != 0)) {
            snprintf (why, cap, "cannot write %s: %s", x->temp[k],
                      strerror (errno));
            ok = keep = false;
        }
        if (out && fclose (out) != 0 && keep) {
            snprintf (why, cap, "cannot write %s: %s", x->temp[k],
                      strerror (errno));
            ok = keep = false;
        }
    }
    char final[FILE_COUNT][4200];
    int renamed = 0;
    for (int k = 0; k < FILE_COUNT; k++) {
        snprintf (final[k], sizeof final[k], "%s/%s", x->dir, layouts[k].name);
        if (keep && rename (x->temp[k], final[k]) != 0) {
            snprintf (why, cap, "cannot rename %s: %s", x->temp[k],
                      strerror (errno));
            ok = keep = false;
        }
        renamed += keep;
    }
    if (!keep) {
        /* nothing stays: not the temporary files, nor the files renamed
         * before one failed (half an export is client data lying about) */
        for (int k = 0; k < FILE_COUNT; k++)
            unlink (k < renamed ? final[k] : x->temp[k]);
        if (x->made_dir)
            rmdir (x->dir);
        return ok;
    }
    int fd = open (x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync (fd);
        close (fd);
    }
    return ok;
}

/* ---- the pages ---- */

/* The rows of one exported workflow: each exiting member's. */
static void
write_workflow (export_t *x, const msgpack_object *item)
{
    const msgpack_object *view = exitflow_obj_get (item, "workflow");
    if (!x->include_demo
        && mp_is_str (exitflow_obj_get (view, "project_id"),
                      EXF_DEMO_PROJECT)) {
        x->demo_skipped++;
        return;
    }
    char wf[EXF_ID_MAX + 1];
    mp_str (view, "workflow_id", wf, sizeof wf, "");
    uint32_t n_members, n_exits;
    const msgpack_object *members = mp_array (view, "members", &n_members);
    const msgpack_object *exits = mp_array (item, "exits", &n_exits);
    x->workflows++;
    for (uint32_t e = 0; e < n_exits; e++)
        for (uint32_t i = 0; i < n_members; i++) {
            char a[EXF_ID_MAX + 1], b[EXF_ID_MAX + 1];
            if (strcmp (mp_str (&members[i], "client_id", a, sizeof a, "?"),
                        mp_str (&exits[e], "client_id", b, sizeof b, "")))
                continue;
            member_rows_t m = { wf, (int) i, &members[i], &exits[e], "",
                                x->export_id };
            mp_str (exitflow_obj_get (done_step (&m, "exit"), "data"),
                    "exit_date", m.exit_date, sizeof m.exit_date, "");
            write_member (x->files, &m);
            x->exits++;
        }
}

static void
write_export_row (export_t *x, int64_t now_ms)
{
    csv_row_t row;
    char at[32];
    time_t secs = (time_t) (now_ms / 1000);
    struct tm tm;
    localtime_r (&secs, &tm);
    strftime (at, sizeof at, "%Y-%m-%d %H:%M:%S", &tm);
    row_init (&row, &x->files[FILE_EXPORT]);
    row_set (&row, "ExportID", "%s", x->export_id);
    row_set (&row, "SourceType", "%lld", (long long) x->source_type);
    row_set (&row, "SourceID", "%s", x->source_id ? x->source_id : "");
    row_set (&row, "SourceName", "%s", x->source_name ? x->source_name : "");
    row_set (&row, "ExportDate", "%s", at);
    row_set (&row, "ExportStartDate", "%s", x->span_from);
    row_set (&row, "ExportEndDate", "%s", x->span_to);
    row_set (&row, "SoftwareName", SOFTWARE_NAME);
    row_set (&row, "SoftwareVersion", EXITFLOW_RELEASE);
    row_set (&row, "CSVVersion", CSV_VERSION);
    row_set (&row, "ExportPeriodType", PERIOD_UPDATED);
    row_set (&row, "ExportDirective", DIRECTIVE_DELTA);
    row_set (&row, "HashStatus", HASH_UNHASHED);
    row_set (&row, "ImplementationID", "%s",
             x->implementation_id ? x->implementation_id : "");
    row_write (&x->files[FILE_EXPORT], &row);
}

/* Follows the pages of the span and writes their rows; the first page
 * says the span and the CoC's zone, so the files are opened then. The
 * exit status. */
static int
run_export (cli_t *cli, exitflow_client_t *client, export_t *x)
{
    char after[300] = "", why[4300] = "";
    bool opened = false;
    for (;;) {
        exitflow_error_t err;
        exitflow_reply_t *page = exitflow_export (client, x->from, x->to, 0,
                                                  after[0] ? after : NULL,
                                                  &err);
        if (!page) {
            close_files (x, false, why, sizeof why);
            return cli_fail (cli, &err);
        }
        const msgpack_object *res = exitflow_reply_result (page);
        if (!opened) {
            int64_t now = fmt_now_ms ();
            mp_str (res, "from", x->span_from, sizeof x->span_from, "");
            mp_str (res, "to", x->span_to, sizeof x->span_to, "");
            mp_str (res, "timezone", x->zone, sizeof x->zone, "");
            /* every datetime in the CoC's zone: the daemon's */
            if (!calendar_set_zone (x->zone, why, sizeof why)) {
                exitflow_reply_destroy (&page);
                close_files (x, false, why + 2048, sizeof why - 2048);
                fprintf (stderr, "exitflow export: the CoC's time zone is "
                         "%s, which this machine does not know (%s): "
                         "install tzdata\n", x->zone, why);
                return EXIT_REFUSED;
            }
            time_t secs = (time_t) (now / 1000);
            struct tm tm;
            localtime_r (&secs, &tm);
            char stamp[24];
            strftime (stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
            snprintf (x->export_id, sizeof x->export_id, "exitflow-%s%03d",
                      stamp, (int) (now % 1000));
            opened = open_files (x, why, sizeof why);
            if (!opened) {
                exitflow_reply_destroy (&page);
                fprintf (stderr, "exitflow export: %s\n", why);
                close_files (x, false, why, sizeof why);
                return EXIT_USAGE;
            }
            write_export_row (x, now);
        }
        uint32_t n;
        const msgpack_object *items = mp_array (res, "workflows", &n);
        for (uint32_t i = 0; i < n; i++)
            write_workflow (x, &items[i]);
        bool more = exitflow_obj_str (res, "next", after, sizeof after);
        exitflow_reply_destroy (&page);
        if (!more)
            break;
    }
    if (!close_files (x, true, why, sizeof why)) {
        fprintf (stderr, "exitflow export: %s; nothing was kept\n", why);
        close_files (x, false, why, sizeof why);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static void
print_summary (const cli_t *cli, const export_t *x)
{
    if (cli->json) {
        json_t *files = json_object ();
        for (int k = 0; k < FILE_COUNT; k++)
            json_object_set_new (files, layouts[k].name,
                                 json_integer (x->files[k].rows));
        cli_print_json_doc (json_pack (
            "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "dir", x->dir,
            "export_id", x->export_id, "from", x->span_from, "to",
            x->span_to, "timezone", x->zone, "workflows",
            (json_int_t) x->workflows, "exits", (json_int_t) x->exits,
            "demo_left_out", (json_int_t) x->demo_skipped, "files", files));
        return;
    }
    printf ("Exported %lld exit%s of %lld workflow%s finished %s to %s "
            "(the CoC's days, %s) into %s:\n", (long long) x->exits,
            x->exits == 1 ? "" : "s", (long long) x->workflows,
            x->workflows == 1 ? "" : "s", x->span_from, x->span_to, x->zone,
            x->dir);
    for (int k = 0; k < FILE_COUNT; k++)
        printf ("  %-20s %d row%s\n", layouts[k].name, x->files[k].rows,
                x->files[k].rows == 1 ? "" : "s");
    if (x->demo_skipped)
        printf ("(%lld in project " EXF_DEMO_PROJECT " left out: "
                "--include-demo exports them)\n", (long long) x->demo_skipped);
}

enum { OPT_FROM = 1, OPT_TO, OPT_OUT, OPT_INCLUDE_DEMO, OPT_SOURCE_TYPE,
       OPT_SOURCE_ID, OPT_SOURCE_NAME, OPT_IMPLEMENTATION_ID };

/* A --from or --to: a real date, checked here so that a typo is a usage
 * error before anything is asked or made. */
static bool
date_option (cli_t *cli, const char *option, const char *text)
{
    int64_t day;
    if (codec_parse_date ((exf_str_t) { text, (uint32_t) strlen (text) },
                          &day))
        return true;
    cli_usage_error (cli, "%s takes a date YYYY-MM-DD, not '%s'", option, text);
    return false;
}

static bool
export_options (cli_t *cli, int argc, char **argv, export_t *x)
{
    static const struct option own[] = {
        { "from", required_argument, NULL, OPT_FROM },
        { "to", required_argument, NULL, OPT_TO },
        { "out", required_argument, NULL, OPT_OUT },
        { "include-demo", no_argument, NULL, OPT_INCLUDE_DEMO },
        { "source-type", required_argument, NULL, OPT_SOURCE_TYPE },
        { "source-id", required_argument, NULL, OPT_SOURCE_ID },
        { "source-name", required_argument, NULL, OPT_SOURCE_NAME },
        { "implementation-id", required_argument, NULL,
          OPT_IMPLEMENTATION_ID },
        { 0 },
    };
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        switch (c) {
        case OPT_FROM:
            if (!date_option (cli, "--from", optarg))
                return false;
            x->from = optarg;
            break;
        case OPT_TO:
            if (!date_option (cli, "--to", optarg))
                return false;
            x->to = optarg;
            break;
        case OPT_OUT: x->dir = optarg; break;
        case OPT_INCLUDE_DEMO: x->include_demo = true; break;
        case OPT_SOURCE_TYPE:
            if (!cli_int_arg (cli, "--source-type", optarg, 1, 4,
                              &x->source_type))
                return false;
            break;
        case OPT_SOURCE_ID: x->source_id = optarg; break;
        case OPT_SOURCE_NAME: x->source_name = optarg; break;
        case OPT_IMPLEMENTATION_ID: x->implementation_id = optarg; break;
        }
    }
    if (c == CLI_STOP || !cli_positionals (cli, argc, argv, 0, 0))
        return false;
    /* ISO dates: text order is day order */
    if (x->from && x->to && strcmp (x->from, x->to) > 0) {
        cli_usage_error (cli, "--from %s is after --to %s", x->from, x->to);
        return false;
    }
    if (!x->dir || !*x->dir) {
        cli_usage_error (cli, "--out DIR is required: the new or empty "
                         "directory the files go into");
        return false;
    }
    return true;
}

int
cmd_export (cli_t *cli, int argc, char **argv)
{
    static export_t x;
    memset (&x, 0, sizeof x);
    x.source_type = SOURCE_OTHER;
    if (!export_options (cli, argc, argv, &x))
        return cli->status;
    exitflow_client_t *client = cli_client (cli);
    if (!client || !prepare_dir (cli, &x))
        return cli->status;
    int rc = run_export (cli, client, &x);
    if (rc == EXIT_OK)
        print_summary (cli, &x);
    return rc;
}
