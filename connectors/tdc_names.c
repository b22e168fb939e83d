#include "tdc_dataset.h"

#include <stddef.h>

const char *const tdc_dataset_kind_names[] = {
    [TDC_DATASET_CIVIL_AFFAIRS] = "civil_affairs",
    [TDC_DATASET_MEDICAL_INSURANCE] = "medical_insurance",
    [TDC_DATASET_HUMAN_RESOURCES] = "human_resources",
    [TDC_DATASET_ROSTER] = "roster",
    NULL,
};
