// Writes a small .ingot for the CLI tests: a two-layer MoE description
// (metadata as docs/MODEL.md), a tokenizer blob, dense and expert regions,
// BF16/F32/Q8_0 tensors with deterministic contents.
#include <stdio.h>
#include <string.h>

#include "ingot/common.h"
#include "ingot/container.h"

typedef struct spec {
    const char *name;
    ingot_dtype dtype;
    uint32_t n_dims;
    uint64_t dims[2];
    int expert_region; // 0: dense, 1: experts of layer 1
} spec;

static const spec k_specs[] = {
    {"token_embd.weight", INGOT_DTYPE_BF16, 2, {256, 32}, 0},
    {"output_norm.weight", INGOT_DTYPE_F32, 1, {32, 0}, 0},
    {"blk.0.attn_q.weight", INGOT_DTYPE_Q8_0, 2, {32, 32}, 0},
    {"blk.1.ffn_gate_exps.0.weight", INGOT_DTYPE_BF16, 2, {64, 32}, 1},
    {"blk.1.ffn_down_exps.0.weight", INGOT_DTYPE_BF16, 2, {32, 64}, 1},
    {"blk.1.ffn_gate_exps.3.weight", INGOT_DTYPE_BF16, 2, {64, 32}, 1},
    {"blk.1.ffn_down_exps.3.weight", INGOT_DTYPE_BF16, 2, {64, 32}, 1},
};

static const char k_meta[] = "{\"format\":\"ingot\",\"arch\":\"qwen3_moe\",\"hparams\":{\"n_layer\":2,"
                             "\"moe\":{\"n_expert\":4,\"n_expert_used\":2}}}";
static const char k_tok[] = "{\"version\":\"1.0\",\"model\":{\"type\":\"WordLevel\"}}";

static ingot_status write_data(ingot_writer *w, ingot_err *err) {
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < ingot_writer_n_tensors(w); i++) {
        const ingot_tensor_info *t = ingot_writer_tensor(w, i);
        uint8_t buf[65536];
        if (t->size > sizeof buf) return ingot_err_set(err, INGOT_E_LIMIT, "sample tensor too large");
        for (uint64_t k = 0; k + 1 < t->size; k += 2) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const float g = ((float)(x >> 40) / (float)(1u << 24) - 0.5f) * 0.1f;
            const uint16_t h = ingot_f32_to_bf16(g);
            buf[k] = (uint8_t)h, buf[k + 1] = (uint8_t)(h >> 8);
        }
        INGOT_FORWARD_IF_ERROR(ingot_writer_write(w, i, 0, buf, (size_t)t->size, err));
    }
    return INGOT_OK;
}

static ingot_status make(const char *path, ingot_err *err) {
    ingot_writer *w = NULL;
    INGOT_FORWARD_IF_ERROR(ingot_writer_create(path, INGOT_WRITER_FORCE, &w, err));
    ingot_status s = ingot_writer_set_metadata(w, k_meta, strlen(k_meta), err);
    if (s == INGOT_OK) s = ingot_writer_add_blob(w, "tokenizer.json", k_tok, strlen(k_tok), err);
    int region = 0;
    for (size_t i = 0; s == INGOT_OK && i < sizeof k_specs / sizeof *k_specs; i++) {
        if (k_specs[i].expert_region != region) {
            region = k_specs[i].expert_region;
            s = ingot_writer_begin_region(w, INGOT_REGION_EXPERTS, 1, err);
        }
        if (s == INGOT_OK)
            s = ingot_writer_add_tensor(w, k_specs[i].name, k_specs[i].dtype, k_specs[i].n_dims, k_specs[i].dims,
                                        NULL, err);
    }
    if (s == INGOT_OK) s = ingot_writer_plan(w, err);
    if (s == INGOT_OK) s = write_data(w, err);
    if (s == INGOT_OK) s = ingot_writer_finish(w, NULL, err);
    ingot_writer_free(w);
    return s;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cli_make_ingot OUT.ingot\n");
        return 2;
    }
    ingot_err err = {0};
    if (make(argv[1], &err) != INGOT_OK) {
        fprintf(stderr, "cli_make_ingot: %s\n", err.msg);
        return 1;
    }
    return 0;
}
