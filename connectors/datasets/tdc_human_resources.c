/* human_resources -> cn.tuodi.EmploymentEvent (employment_event.avsc): one
 * event per row from human resources and social security (人社). */
#include "tdc_mapping.h"

static const char *const type_cols[] = {"业务类型", "事件类型", NULL};
static const char *const person_cols[] = {"身份证号", "公民身份号码", "身份证号码", "证件号码",
                                          NULL};
static const char *const name_cols[] = {"姓名", NULL};
static const char *const village_cols[] = {"村级区划代码", "村代码", NULL};
static const char *const date_cols[] = {"业务日期", "事件日期", "办理日期", NULL};
static const char *const months_cols[] = {"外出务工月数", "务工月数", NULL};
static const char *const rid_cols[] = {"业务编号", "记录编号", NULL};

static const char *const type_codes[] = {
    "失业登记", "UNEMPLOYMENT_REGISTERED",
    "失业登记注销", "UNEMPLOYMENT_ENDED",
    "公益性岗位上岗", "PUBLIC_WELFARE_JOB_STARTED",
    "公益性岗位离岗", "PUBLIC_WELFARE_JOB_ENDED",
    "职工保险断缴", "EMPLOYEE_INSURANCE_LAPSED",
    "外出务工情况", "MIGRANT_WORK_REPORTED",
    NULL,
};
static const char *const migrant[] = {"MIGRANT_WORK_REPORTED", NULL};

static const tdc_field_spec fields[] = {
    {.path = "event_type", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_REQUIRED,
     .columns = type_cols, .codes = type_codes, .doc = "decides what else is required"},
    {.path = "person_key", .kind = TDC_FK_PERSON_KEY,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_KEY, .columns = person_cols,
     .doc = "the Kafka key; normalised, or pseudonymised with pseudonymize.key_file"},
    {.path = "name", .kind = TDC_FK_STRING, .columns = name_cols,
     .doc = "null when the column is absent or empty"},
    {.path = "village_code", .kind = TDC_FK_VILLAGE, .columns = village_cols,
     .doc = "null when absent or empty"},
    {.path = "event_date", .kind = TDC_FK_DATE, .flags = TDC_SPEC_REQUIRED,
     .columns = date_cols, .doc = "the event's date"},
    {.path = "months_worked_away", .kind = TDC_FK_INT, .flags = TDC_SPEC_WHEN_REQUIRED,
     .columns = months_cols, .min = 0, .max = 12, .when = "event_type",
     .when_symbols = migrant, .doc = "kept for other events when given"},
    {.path = "source.record_id", .kind = TDC_FK_RECORD_ID, .columns = rid_cols,
     .doc = "absent or empty: the postgres id, else `<file>@<mtime_ns>:<row>`"},
    {.path = "source.department", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_FIXED,
     .constant = "HUMAN_RESOURCES", .doc = "set by the connector"},
};

const tdc_dataset_desc tdc_human_resources_desc = {
    .kind = TDC_DATASET_HUMAN_RESOURCES,
    .record = "cn.tuodi.EmploymentEvent",
    .schema_file = "employment_event.avsc",
    .topic = "tuodi.human_resources.events",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
    .delete_reason =
        "deleted in the source: an employment event is not withdrawn by deleting its row;"
        " record the correction or separation as a new row",
};
