// bench_engram: Engram in O(1) per token, measured.
//
// Writes a Qwen3-MoE checkpoint with one Engram layer whose table is more
// than 4x the bytes of all other weights (random BF16 weights, a byte-level
// tokenizer), converts it to q8_0 with ingot_convert, then on the .ingot
// left on the disk-backed mmap:
//   1. decode tokens/s with Engram on, and with its layer skipped, over the
//      same token ids (runs alternate; medians reported);
//   2. table row gathers per second (hash + read + decode), warm and cold.
// "cold" drops the file's pages from the page cache (posix_fadvise
// DONTNEED after closing the mapping) before each run, so every table row a
// token needs comes from the disk while the backbone is faulted in by the
// prompt before timing starts.
//
// Usage: bench_engram [--dir DIR] [--tokens N] [--threads N] [--reps N] [--cold] [--keep]
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingot/common.h"
#include "ingot/container.h"
#include "ingot/convert.h"
#include "ingot/engram.h"
#include "ingot/runner.h"

// ---- model shape ----------------------------------------------------------------

enum {
    D = 512, N_LAYER = 8, N_HEAD = 8, N_KV = 4, HEAD_DIM = 64, N_EXP = 4, N_EXP_USED = 2, FF_EXP = 768,
    VOCAB = 4096, ENGRAM_LAYER = 2, E_HEADS = 4, E_DH = 32, E_N = 3,
};
static const uint64_t E_BASE = 800000; // per-order base table size

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// CPU seconds of the whole process (all threads, the prefetch helper
// included): immune to time spent waiting for a core on a busy machine.
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int die(const char *what, const ingot_err *err) {
    fprintf(stderr, "bench_engram: %s: %s\n", what, err ? err->msg : strerror(errno));
    return 1;
}

// ---- checkpoint writer ------------------------------------------------------------

typedef struct st_entry {
    char name[128];
    const char *dtype; // "BF16" or "F32"
    uint32_t n_dims;
    uint64_t dims[3];
    int init;          // 0 random ±scale, 1 ones
    float scale;
} st_entry;

typedef struct st_list {
    st_entry *e;
    size_t n, cap;
} st_list;

static void add(st_list *l, const char *name, uint32_t n_dims, uint64_t d0, uint64_t d1, uint64_t d2, int init,
                float scale) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->e = realloc(l->e, l->cap * sizeof *l->e);
        if (!l->e) abort();
    }
    st_entry *e = &l->e[l->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->dtype = "BF16";
    e->n_dims = n_dims;
    e->dims[0] = d0, e->dims[1] = d1, e->dims[2] = d2;
    e->init = init;
    e->scale = scale;
}

static uint64_t n_elem(const st_entry *e) {
    uint64_t n = 1;
    for (uint32_t i = 0; i < e->n_dims; i++) n *= e->dims[i];
    return n;
}

static void model_tensors(st_list *l, uint64_t table_rows) {
    char n[128];
    add(l, "model.embed_tokens.weight", 2, VOCAB, D, 0, 0, 0.05f);
    add(l, "lm_head.weight", 2, VOCAB, D, 0, 0, 0.05f);
    add(l, "model.norm.weight", 1, D, 0, 0, 1, 0);
    for (int L = 0; L < N_LAYER; L++) {
#define T(suffix, nd, a, b, c, init, sc) (snprintf(n, sizeof n, "model.layers.%d.%s", L, suffix), add(l, n, nd, a, b, c, init, sc))
        T("input_layernorm.weight", 1, D, 0, 0, 1, 0);
        T("post_attention_layernorm.weight", 1, D, 0, 0, 1, 0);
        T("self_attn.q_proj.weight", 2, N_HEAD * HEAD_DIM, D, 0, 0, 0.04f);
        T("self_attn.k_proj.weight", 2, N_KV * HEAD_DIM, D, 0, 0, 0.04f);
        T("self_attn.v_proj.weight", 2, N_KV * HEAD_DIM, D, 0, 0, 0.04f);
        T("self_attn.o_proj.weight", 2, D, N_HEAD * HEAD_DIM, 0, 0, 0.04f);
        T("self_attn.q_norm.weight", 1, HEAD_DIM, 0, 0, 1, 0);
        T("self_attn.k_norm.weight", 1, HEAD_DIM, 0, 0, 1, 0);
        T("mlp.gate.weight", 2, N_EXP, D, 0, 0, 0.05f);
        for (int e = 0; e < N_EXP; e++) {
            char s[96];
            snprintf(s, sizeof s, "mlp.experts.%d.gate_proj.weight", e);
            T(s, 2, FF_EXP, D, 0, 0, 0.04f);
            snprintf(s, sizeof s, "mlp.experts.%d.up_proj.weight", e);
            T(s, 2, FF_EXP, D, 0, 0, 0.04f);
            snprintf(s, sizeof s, "mlp.experts.%d.down_proj.weight", e);
            T(s, 2, D, FF_EXP, 0, 0, 0.04f);
        }
        if (L != ENGRAM_LAYER) continue;
        const uint64_t d_mem = (uint64_t)(E_N - 1) * E_HEADS * E_DH;
        T("engram.multi_head_embedding.embedding.weight", 2, table_rows, E_DH, 0, 0, 1.0f);
        T("engram.value_proj.weight", 2, D, d_mem, 0, 0, 0.05f);
        T("engram.value_proj.bias", 1, D, 0, 0, 0, 0.05f);
        T("engram.key_projs.0.weight", 2, D, d_mem, 0, 0, 0.05f);
        T("engram.key_projs.0.bias", 1, D, 0, 0, 0, 0.05f);
        T("engram.norm1.0.weight", 1, D, 0, 0, 1, 0);
        T("engram.norm2.0.weight", 1, D, 0, 0, 1, 0);
        T("engram.short_conv.norms.0.weight", 1, D, 0, 0, 1, 0);
        T("engram.short_conv.conv.weight", 3, D, 1, 4, 0, 0.3f);
#undef T
    }
}

static int write_safetensors(const char *path, const st_list *l) {
    char *hdr = malloc(1 << 20);
    if (!hdr) return -1;
    size_t h = (size_t)snprintf(hdr, 1 << 20, "{");
    uint64_t off = 0;
    for (size_t i = 0; i < l->n; i++) {
        const st_entry *e = &l->e[i];
        const uint64_t bytes = n_elem(e) * 2;
        h += (size_t)snprintf(hdr + h, (1 << 20) - h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", e->name,
                              e->dtype);
        for (uint32_t d = 0; d < e->n_dims; d++)
            h += (size_t)snprintf(hdr + h, (1 << 20) - h, "%s%llu", d ? "," : "", (unsigned long long)e->dims[d]);
        h += (size_t)snprintf(hdr + h, (1 << 20) - h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                              (unsigned long long)(off + bytes));
        off += bytes;
    }
    h += (size_t)snprintf(hdr + h, (1 << 20) - h, "}");
    while (h % 8) hdr[h++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(hdr);
        return -1;
    }
    const uint64_t hl = h;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(hl >> (8 * i));
    bool ok = fwrite(le, 1, 8, f) == 8 && fwrite(hdr, 1, h, f) == h;
    free(hdr);
    enum { CHUNK = 1 << 16 };
    static uint16_t buf[CHUNK];
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; ok && i < l->n; i++) {
        const st_entry *e = &l->e[i];
        for (uint64_t done = 0, total = n_elem(e); ok && done < total;) {
            const size_t k = total - done < CHUNK ? (size_t)(total - done) : CHUNK;
            for (size_t j = 0; j < k; j++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                const float u = (float)((double)(seed >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
                buf[j] = ingot_f32_to_bf16(e->init ? 1.0f : u * e->scale);
            }
            ok = fwrite(buf, 2, k, f) == k;
            done += k;
        }
    }
    return fclose(f) == 0 && ok ? 0 : -1;
}

// Byte-level BPE vocabulary: the 256 byte symbols, three specials, then
// "Ġw<i>" words (GPT-2 bytes_to_unicode spelling).
static char *tokenizer_json(void) {
    const size_t cap = 1 << 20;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t n = (size_t)snprintf(s, cap,
                                "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"<s>\",\"special\":true},"
                                "{\"id\":1,\"content\":\"</s>\",\"special\":true},{\"id\":2,\"content\":\"<pad>\","
                                "\"special\":true}],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\","
                                "\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true},"
                                "\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{");
    int k = 0;
    for (int b = 0; b < 256; b++) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
        const int cp = printable ? b : 256 + k++;
        char u[8];
        if (cp < 0x80) {
            if (cp == '"' || cp == '\\')
                snprintf(u, sizeof u, "\\%c", cp);
            else
                snprintf(u, sizeof u, "%c", cp);
        } else {
            u[0] = (char)(0xc0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3f));
            u[2] = 0;
        }
        n += (size_t)snprintf(s + n, cap - n, "%s\"%s\":%d", b ? "," : "", u, b + 3);
    }
    for (int id = 259; id < VOCAB; id++) n += (size_t)snprintf(s + n, cap - n, ",\"\xc4\xa0w%d\":%d", id, id);
    snprintf(s + n, cap - n, "},\"merges\":[]}}");
    return s;
}

static char *config_json(void) {
    char *s = malloc(4096);
    if (!s) return NULL;
    snprintf(s, 4096,
             "{\"architectures\":[\"Qwen3MoeForCausalLM\"],\"model_type\":\"qwen3_moe\",\"hidden_size\":%d,"
             "\"num_hidden_layers\":%d,\"num_attention_heads\":%d,\"num_key_value_heads\":%d,\"head_dim\":%d,"
             "\"intermediate_size\":1536,\"moe_intermediate_size\":%d,\"num_experts\":%d,\"num_experts_per_tok\":%d,"
             "\"norm_topk_prob\":true,\"decoder_sparse_step\":1,\"mlp_only_layers\":[],\"vocab_size\":%d,"
             "\"rms_norm_eps\":1e-6,\"rope_theta\":1000000.0,\"max_position_embeddings\":4096,"
             "\"tie_word_embeddings\":false,\"bos_token_id\":0,\"eos_token_id\":1,\"torch_dtype\":\"bfloat16\","
             "\"engram_layer_ids\":[%d],\"engram_max_ngram_size\":%d,\"engram_n_head_per_ngram\":%d,"
             "\"engram_n_embed_per_ngram\":%d,\"engram_vocab_size\":[%llu,%llu],\"engram_kernel_size\":4,"
             "\"engram_pad_id\":2,\"engram_seed\":0,\"hc_mult\":1}",
             D, N_LAYER, N_HEAD, N_KV, HEAD_DIM, FF_EXP, N_EXP, N_EXP_USED, VOCAB, ENGRAM_LAYER, E_N, E_HEADS,
             E_HEADS * E_DH, (unsigned long long)E_BASE, (unsigned long long)E_BASE);
    return s;
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    const bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

// Table rows the converter will expect: the prime procedure on this config.
static int table_rows(const char *cfg, const char *tok, uint64_t *rows) {
    ingot_err err = {0};
    ingot_engram_config c;
    bool present = false;
    int32_t *lookup = NULL;
    uint64_t V = 0, Vc = 0;
    ingot_engram_params p;
    if (ingot_engram_config_parse(cfg, strlen(cfg), &c, &present, &err) ||
        ingot_engram_compress_build(tok, strlen(tok), &lookup, &V, &Vc, &err) ||
        ingot_engram_params_build(&c, V, Vc, (uint64_t)lookup[2], &p, &err))
        return die("engram parameters", &err);
    ingot_free(lookup);
    *rows = p.layers[0].n_rows;
    return 0;
}

static int make_checkpoint(const char *dir) {
    char path[1200];
    mkdir(dir, 0755);
    char *cfg = config_json(), *tok = tokenizer_json();
    uint64_t rows = 0;
    if (!cfg || !tok || table_rows(cfg, tok, &rows)) return 1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    int r = write_text(path, cfg);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (!r) r = write_text(path, tok);
    st_list l = {0};
    model_tensors(&l, rows);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!r) r = write_safetensors(path, &l);
    free(l.e);
    free(cfg);
    free(tok);
    return r ? die("writing the checkpoint", NULL) : 0;
}

// ---- measurements ---------------------------------------------------------------

static void drop_cache(const char *path) {
    const int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// One open model: decode tokens/s over ids[prompt .. n) after a prompt.
typedef struct runner {
    ingot_model *m;
    ingot_pool *pool;
    ingot_state *s;
} runner;

static int runner_open(runner *r, const char *path, int n_ctx, int n_batch, int threads) {
    ingot_err err = {0};
    memset(r, 0, sizeof *r);
    if (ingot_model_open(path, &r->m, &err) || ingot_pool_create(threads, &r->pool, &err) ||
        ingot_state_create(r->m, n_ctx, n_batch, r->pool, &r->s, &err))
        return die("open", &err);
    return 0;
}

static void runner_close(runner *r) {
    ingot_state_free(r->s);
    ingot_pool_free(r->pool);
    ingot_model_close(r->m);
}

typedef struct speed {
    double wall;  // tokens per wall-clock second
    double cpu;   // tokens per process CPU second
} speed;

static int gen(runner *r, bool engram_on, const int32_t *ids, int prompt, int n, speed *out) {
    ingot_err err = {0};
    ingot_engram_model_set_enabled(ingot_engram_of(r->m), engram_on);
    ingot_state_reset(r->s);
    int bad = ingot_model_forward(r->m, r->s, ids, prompt, 0, 0, &err) != INGOT_OK;
    const double t0 = now_s(), c0 = cpu_s();
    int32_t sink = 0;
    for (int t = prompt; !bad && t < n; t++) {
        bad = ingot_model_forward(r->m, r->s, ids + t, 1, t, 0, &err) != INGOT_OK;
        int rows = 0;
        if (!bad) sink ^= ingot_argmax(ingot_state_logits(r->s, &rows), VOCAB);
    }
    out->wall = (n - prompt) / (now_s() - t0);
    out->cpu = (n - prompt) / (cpu_s() - c0);
    if (sink == -1) printf(" ");
    return bad ? die("forward", &err) : 0;
}

static int gather_run(const char *path, bool cold, int n, double *rows_per_s) {
    if (cold) drop_cache(path);
    ingot_err err = {0};
    ingot_model *m = NULL;
    if (ingot_model_open(path, &m, &err)) return die("open", &err);
    ingot_engram_model *em = ingot_engram_of(m);
    const ingot_engram_params *p = ingot_engram_model_params(em);
    const size_t d_mem = (size_t)ingot_engram_n_cols(p) * p->d_h;
    float *emb = malloc(d_mem * sizeof *emb);
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    uint64_t seed = 12345;
    for (int i = 0; ids && i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((seed >> 33) % VOCAB);
    }
    int r = !emb || !ids;
    // Warm: one untimed pass over the same ids first, so every row is resident.
    for (int t = 0; !r && !cold && t < n; t++)
        r = ingot_engram_model_gather(em, 0, ids + t, 1, t, emb, &err) != INGOT_OK;
    const double t0 = now_s();
    for (int t = 0; !r && t < n; t++) r = ingot_engram_model_gather(em, 0, ids + t, 1, t, emb, &err) != INGOT_OK;
    *rows_per_s = (double)n * ingot_engram_n_cols(p) / (now_s() - t0);
    if (r) die("gather", &err);
    free(emb);
    free(ids);
    ingot_model_close(m);
    return r;
}

static int sizes(const char *path) {
    ingot_err err = {0};
    ingot_model *m = NULL;
    if (ingot_model_open(path, &m, &err)) return die("open", &err);
    const ingot_container *c = ingot_model_container(m);
    uint64_t table = 0, other = 0;
    for (size_t i = 0; i < ingot_container_n_tensors(c); i++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, i);
        if (strstr(t->name, ".engram.table")) table += t->size;
        else other += t->size;
    }
    const ingot_engram_params *p = ingot_engram_model_params(ingot_engram_of(m));
    printf("model: qwen3_moe D=%d, %d layers, %d experts (top-%d), vocab %d; Engram layer %d: %llu rows x %u, "
           "(N-1)*H = %u rows per token\n",
           D, N_LAYER, N_EXP, N_EXP_USED, VOCAB, ENGRAM_LAYER, (unsigned long long)p->layers[0].n_rows, p->d_h,
           ingot_engram_n_cols(p));
    printf("bytes: Engram tables %.1f MiB, all other tensors %.1f MiB, ratio %.2f\n", table / 1048576.0,
           other / 1048576.0, (double)table / (double)other);
    ingot_model_close(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = "/tmp/ingot-bench-engram";
    int n_tokens = 256, threads = 1, reps = 5;
    bool cold = false, keep = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) n_tokens = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cold")) cold = true;
        else if (!strcmp(argv[i], "--keep")) keep = true;
        else {
            fprintf(stderr, "usage: bench_engram [--dir DIR] [--tokens N] [--threads N] [--reps N] [--cold] [--keep]\n");
            return 2;
        }
    }
    if (n_tokens < 32 || reps < 1 || reps > 15) return 2;
    char src[900], dst[1000];
    snprintf(src, sizeof src, "%s/hf", dir);
    snprintf(dst, sizeof dst, "%s/model.ingot", dir);
    mkdir(dir, 0755);
    struct stat sb;
    if (!keep || stat(dst, &sb) != 0) {
        double t0 = now_s();
        if (make_checkpoint(src)) return 1;
        printf("checkpoint written in %.1f s\n", now_s() - t0);
        ingot_convert_opts o = {.src = src, .dst = dst, .preset = "q8_0", .force = true, .n_threads = 0};
        ingot_err err = {0};
        t0 = now_s();
        if (ingot_convert(&o, NULL, &err)) return die("convert", &err);
        printf("converted (q8_0) in %.1f s\n", now_s() - t0);
    }
    if (sizes(dst)) return 1;
    int32_t *ids = malloc((size_t)n_tokens * sizeof *ids);
    if (!ids) return 1;
    uint64_t seed = 777;
    for (int i = 0; i < n_tokens; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)(3 + (seed >> 33) % (VOCAB - 3));
    }
    speed on[15], off[15], first = {0, 0};
    const int prompt = 16;
    runner r;
    if (!cold) {
        // One open model, as a server keeps it: the first pass maps the table
        // pages it touches; then Engram on and skipped alternate.
        if (runner_open(&r, dst, n_tokens + 1, prompt, threads) || gen(&r, true, ids, prompt, n_tokens, &first))
            return 1;
        for (int k = 0; k < reps; k++)
            if (gen(&r, true, ids, prompt, n_tokens, &on[k]) || gen(&r, false, ids, prompt, n_tokens, &off[k]))
                return 1;
        runner_close(&r);
    } else {
        // Every run from a cold page cache and a fresh mapping.
        for (int k = 0; k < 2 * reps; k++) {
            drop_cache(dst);
            speed *slot = k % 2 ? &off[k / 2] : &on[k / 2];
            if (runner_open(&r, dst, n_tokens + 1, prompt, threads) || gen(&r, k % 2 == 0, ids, prompt, n_tokens, slot))
                return 1;
            runner_close(&r);
        }
    }
    double on_w[15], off_w[15], on_c[15], off_c[15];
    for (int k = 0; k < reps; k++) on_w[k] = on[k].wall, off_w[k] = off[k].wall, on_c[k] = on[k].cpu, off_c[k] = off[k].cpu;
    qsort(on_w, (size_t)reps, sizeof *on_w, cmp_double);
    qsort(off_w, (size_t)reps, sizeof *off_w, cmp_double);
    qsort(on_c, (size_t)reps, sizeof *on_c, cmp_double);
    qsort(off_c, (size_t)reps, sizeof *off_c, cmp_double);
    const int md = reps / 2;
    printf("decode: %d tokens after a %d-token prompt, %d thread%s, %s, median of %d runs:\n", n_tokens - prompt,
           prompt, threads, threads == 1 ? "" : "s", cold ? "cold page cache and fresh mapping per run" : "one open model",
           reps);
    printf("                    tokens/s (wall)   tokens per CPU-second (all threads)\n");
    if (!cold) printf("  first pass, on    %10.2f        %10.2f   (table pages mapped on first touch)\n", first.wall, first.cpu);
    printf("  Engram on         %10.2f        %10.2f\n", on_w[md], on_c[md]);
    printf("  Engram skipped    %10.2f        %10.2f\n", off_w[md], off_c[md]);
    printf("  slowdown          %9.2f %%       %9.2f %%\n", 100.0 * (off_w[md] - on_w[md]) / off_w[md],
           100.0 * (off_c[md] - on_c[md]) / off_c[md]);
    double g_warm = 0, g_cold = 0;
    if (gather_run(dst, false, 20000, &g_warm) || gather_run(dst, true, 20000, &g_cold)) return 1;
    printf("row gathers (hash + read + decode q8_0 rows of %d):\n  warm page cache %12.0f rows/s\n"
           "  cold page cache %12.0f rows/s\n",
           E_DH, g_warm, g_cold);
    free(ids);
    return 0;
}
