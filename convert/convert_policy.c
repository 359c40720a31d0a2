// convert/: the bridge between the model description and the type policy of
// quantize/ (include/ingot/quant_policy.h): one ingot_policy_tensor per
// output tensor, then a type per tensor from the preset and overrides, or
// from the size-targeted allocation, which reads sample rows through the
// same decoder the conversion uses.
#include <string.h>

#include "convert_internal.h"
#include "ingot/common.h"

ingot_status ingot_convert_policy_tensors(const ingot_model_desc *m, ingot_policy_tensor *pts, ingot_err *err) {
    const ingot_model_hparams *hp = ingot_model_desc_hparams(m);
    for (size_t i = 0; i < ingot_model_desc_n_tensors(m); i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(m, i);
        INGOT_FORWARD_IF_ERROR(ingot_policy_tensor_init(&pts[i], mt->name, mt->n_dims, mt->dims, mt->src_dtype,
                                                        (int32_t)hp->n_layer, hp->n_expert > 0, err));
        // keep: 128×128 FP8 stays f8_e4m3_b128, FP8 with E8M0 row scales is
        // f8_e4m3_r32 as it is, and FP8 with 32×32 E8M0 tiles (no row type
        // holds them) becomes bf16, exact for every scale in bf16's range.
        const ingot_scale_kind sk = ingot_convert_scale_kind(m->ck, mt);
        pts[i].src_block_scaled = sk == INGOT_SCALE_B128;
        if (sk == INGOT_SCALE_R32) pts[i].src_dtype = INGOT_DTYPE_F8_E4M3_R32;
        if (sk == INGOT_SCALE_B32) pts[i].src_dtype = INGOT_DTYPE_BF16;
        // A routed expert runs for n_expert_used of n_expert tokens on
        // average, so its error weighs that much in the output: size targets
        // spend bits where they reach the logits.
        if (mt->expert >= 0 && hp->n_expert > 0)
            pts[i].weight = (float)hp->n_expert_used / (float)hp->n_expert;
    }
    return INGOT_OK;
}

// Rows of one tensor for the size-targeted allocation (mapped sources).
typedef struct target_fill {
    const ingot_model_desc *m;
    const ingot_checkpoint *ck;
} target_fill;

static ingot_status fill_rows(void *user, size_t index, int64_t row0, int64_t n_rows, float *dst, ingot_err *err) {
    const target_fill *f = user;
    const ingot_desc_tensor *mt = ingot_model_desc_tensor(f->m, index);
    ingot_convert_source s = {0};
    INGOT_FORWARD_IF_ERROR(ingot_convert_source_get(f->ck, mt, &s, err));
    return ingot_convert_decode_rows(mt, &s, (uint64_t)row0, (uint64_t)n_rows, dst, NULL, err);
}

ingot_status ingot_convert_choose(const ingot_convert_opts *opts, const ingot_model_desc *m, const ingot_checkpoint *ck,
                                  const ingot_policy *pol, const ingot_imatrix *im, ingot_pool *pool,
                                  const ingot_policy_tensor *pts, ingot_policy_choice *choices, ingot_err *err) {
    const size_t n = ingot_model_desc_n_tensors(m);
    if (opts->target_size || opts->target_bpw > 0) {
        INGOT_FAIL_IF(!ingot_checkpoint_is_mapped(ck), err, INGOT_E_UNSUPPORTED,
                      "%s: --target-size / --target-bpw need random access: extract the archive first",
                      ingot_checkpoint_path(ck));
        const ingot_policy_target_opts to = {.target_bytes = opts->target_size, .target_bpw = opts->target_bpw,
                                             .imatrix = im, .pool = pool};
        target_fill f = {m, ck};
        ingot_policy_target_report rep;
        return ingot_policy_target(pol, pts, n, fill_rows, &f, &to, choices, &rep, err);
    }
    for (size_t i = 0; i < n; i++) INGOT_FORWARD_IF_ERROR(ingot_policy_choose(pol, &pts[i], &choices[i], err));
    return INGOT_OK;
}
