/* dq_fields — assessment field conventions. See dq_fields.h. */
#include "workers/dq/dq_fields.h"

#include <stddef.h>

/* 4.02 Income and Sources */
static const char *const income_sources[] = {
    "earned", "unemployment", "ssi", "ssdi", "va_disability_service",
    "va_disability_non_service", "private_disability", "workers_comp",
    "tanf", "ga", "soc_sec_retirement", "pension", "child_support",
    "alimony", "other_income", NULL };

/* 4.03 Non-Cash Benefits */
static const char *const benefit_sources[] = {
    "snap", "wic", "tanf_child_care", "tanf_transportation", "other_tanf",
    "other_benefits", NULL };

/* 4.04 Health Insurance */
static const char *const insurance_sources[] = {
    "medicaid", "medicare", "schip", "va", "employer", "cobra",
    "private_pay", "state_adult", "ihs", "other_insurance", NULL };

const dq_group_t dq_groups[DQ_GROUP_COUNT] = {
    [DQ_GROUP_INCOME] = { "income", "4.02", STEP_INCOME_BENEFITS,
                          "income_from_any_source", income_sources },
    [DQ_GROUP_BENEFITS] = { "benefits", "4.03", STEP_INCOME_BENEFITS,
                            "benefits_from_any_source", benefit_sources },
    [DQ_GROUP_INSURANCE] = { "insurance", "4.04", STEP_HEALTH_INSURANCE,
                             "insurance_from_any_source", insurance_sources },
};

const char *const dq_disability_fields[] = {
    "physical", "developmental", "chronic_health", "hiv_aids",
    "mental_health", "substance_use", NULL };
