// convert/: ingot_convert — open the checkpoint, describe it, choose types,
// plan the container, stream the data (convert_exec.c), finish atomically.
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "convert_exec.h"
#include "ingot/common.h"
#include "ingot/engram.h"

#define CONFIG_MAX (16u << 20)

// Peak resident memory so far (Linux VmHWM), in KiB; 0 when unknown.
static long peak_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Everything one conversion holds; released by run_deinit.
typedef struct run {
    const ingot_convert_opts *opts;
    ingot_checkpoint *ck;
    char *config;              // --config text, or NULL
    size_t config_n;
    ingot_model_desc *m;
    ingot_policy *pol;
    ingot_imatrix *im;
    ingot_pool *pool;
    ingot_policy_tensor *pts;
    ingot_policy_choice *choices;
    uint64_t *hashes;          // [n_shards]
    ingot_writer *w;
    size_t *widx;              // [n_tensors] writer index
    exec_item *items;
    char *meta;
    size_t meta_n;
} run;

static void run_deinit(run *r) {
    ingot_writer_free(r->w);
    ingot_free(r->items);
    ingot_free(r->widx);
    ingot_free(r->meta);
    ingot_free(r->hashes);
    ingot_free(r->pts);
    ingot_free(r->choices);
    ingot_pool_free(r->pool);
    ingot_imatrix_free(r->im);
    ingot_policy_free(r->pol);
    ingot_model_desc_free(r->m);
    ingot_free(r->config);
    ingot_checkpoint_close(r->ck);
}

// ---- source hashes (pread in bounded chunks: no mapping stays resident) ---

typedef struct hash_job {
    run *r;
    ingot_status st;
    ingot_err err;
} hash_job;

// Path of shard i of a mapped (file or folder) checkpoint.
static void shard_path(const ingot_checkpoint *ck, size_t i, char *dst, size_t cap) {
    const char *root = ingot_checkpoint_path(ck);
    if (ingot_checkpoint_get_kind(ck) == INGOT_CHECKPOINT_FILE) snprintf(dst, cap, "%s", root);
    else snprintf(dst, cap, "%s/%s", root, ingot_checkpoint_shard_get(ck, i)->name);
}

static void hash_one(void *ctx, size_t i, int worker) {
    (void)worker;
    hash_job *jobs = ctx;
    run *r = jobs[0].r;
    jobs[i].st = ingot_checkpoint_shard_hash(r->ck, i, &r->hashes[i], &jobs[i].err);
}

static ingot_status hash_sources(run *r, ingot_err *err) {
    const size_t n = ingot_checkpoint_n_shards(r->ck);
    r->hashes = ingot_calloc(n + 1, sizeof *r->hashes);
    INGOT_FAIL_IF(!r->hashes, err, INGOT_E_NOMEM, "out of memory");
    if (r->opts->dry_run) return INGOT_OK; // nothing is written, so nothing is recorded
    if (!ingot_checkpoint_is_mapped(r->ck)) {
        for (size_t i = 0; i < n; i++) INGOT_FORWARD_IF_ERROR(ingot_checkpoint_shard_hash(r->ck, i, &r->hashes[i], err));
        return INGOT_OK;
    }
    hash_job *jobs = ingot_calloc(n + 1, sizeof *jobs);
    INGOT_FAIL_IF(!jobs, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) jobs[i].r = r;
    jobs[0].r = r;
    ingot_pool_run(r->pool, n, hash_one, jobs);
    ingot_status st = INGOT_OK;
    for (size_t i = 0; i < n && st == INGOT_OK; i++) {
        st = jobs[i].st;
        if (st != INGOT_OK && err) *err = jobs[i].err;
    }
    ingot_free(jobs);
    return st;
}

// ---- setup ----------------------------------------------------------------

static ingot_status run_open(run *r, ingot_err *err) {
    const ingot_convert_opts *o = r->opts;
    INGOT_FAIL_IF(!o->src || !*o->src, err, INGOT_E_ARG, "no source checkpoint given");
    INGOT_FAIL_IF(!o->dry_run && (!o->dst || !*o->dst), err, INGOT_E_ARG, "no output file given");
    struct stat st;
    if (!o->dry_run && !o->force && stat(o->dst, &st) == 0) {
        ingot_err_set(err, INGOT_E_IO, "%s: already exists (use --force to replace it)", o->dst);
        ingot_err_where(err, o->dst, NULL, -1);
        return INGOT_E_IO;
    }
    INGOT_FORWARD_IF_ERROR(ingot_checkpoint_open(o->src, &r->ck, err));
    if (o->config_path) INGOT_FORWARD_IF_ERROR(ingot_file_read_all(o->config_path, CONFIG_MAX, &r->config, &r->config_n, err));
    INGOT_FORWARD_IF_ERROR(ingot_model_describe(r->ck, r->config, r->config_n, o->strict ? INGOT_DESCRIBE_STRICT : 0,
                                                &r->m, err));
    INGOT_FORWARD_IF_ERROR(ingot_policy_create(o->preset ? o->preset : "q8_0", o->overrides, o->n_overrides, &r->pol, err));
    if (o->imatrix_path) INGOT_FORWARD_IF_ERROR(ingot_imatrix_open(o->imatrix_path, &r->im, err));
    return ingot_pool_create(o->n_threads, &r->pool, err);
}

static ingot_status run_choose(run *r, ingot_err *err) {
    const size_t n = ingot_model_desc_n_tensors(r->m);
    r->pts = ingot_calloc(n + 1, sizeof *r->pts);
    r->choices = ingot_calloc(n + 1, sizeof *r->choices);
    INGOT_FAIL_IF(!r->pts || !r->choices, err, INGOT_E_NOMEM, "out of memory");
    INGOT_FORWARD_IF_ERROR(ingot_convert_policy_tensors(r->m, r->pts, err));
    return ingot_convert_choose(r->opts, r->m, r->ck, r->pol, r->im, r->pool, r->pts, r->choices, err);
}

// Whether two source tensors hold the same bytes, read with pread in pieces
// (mapped sources; nothing stays resident). False when unknown.
static bool same_bytes(const run *r, size_t a, size_t b) {
    const ingot_st_tensor *ta = ingot_checkpoint_tensor(r->ck, a), *tb = ingot_checkpoint_tensor(r->ck, b);
    if (!ingot_checkpoint_is_mapped(r->ck) || ta->size != tb->size || ta->dtype != tb->dtype) return false;
    char pa[4096], pb[4096];
    shard_path(r->ck, ta->file_index, pa, sizeof pa);
    shard_path(r->ck, tb->file_index, pb, sizeof pb);
    const int fa = open(pa, O_RDONLY | O_CLOEXEC), fb = open(pb, O_RDONLY | O_CLOEXEC);
    const size_t cap = 1u << 20;
    uint8_t *ba = ingot_malloc(cap), *bb = ingot_malloc(cap);
    bool same = fa >= 0 && fb >= 0 && ba && bb;
    for (uint64_t off = 0; same && off < ta->size; off += cap) {
        const size_t n = ta->size - off < cap ? (size_t)(ta->size - off) : cap;
        same = pread(fa, ba, n, (off_t)(ta->data_off + off)) == (ssize_t)n &&
               pread(fb, bb, n, (off_t)(tb->data_off + off)) == (ssize_t)n && !memcmp(ba, bb, n);
    }
    ingot_free(ba);
    ingot_free(bb);
    if (fa >= 0) close(fa);
    if (fb >= 0) close(fb);
    return same;
}

// A stored lm_head under tied embeddings is dropped (transformers ties the
// weights at load and never reads it); say whether it matched.
static void note_tied_head(const run *r) {
    const int64_t h = r->m->dropped_head, e = ingot_checkpoint_find(r->ck, "model.embed_tokens.weight");
    if (h < 0) return;
    if (e >= 0 && same_bytes(r, (size_t)h, (size_t)e))
        ingot_log(INGOT_LOG_INFO, "lm_head.weight is identical to the tied embedding: not stored");
    else
        ingot_log(INGOT_LOG_WARN,
                  "lm_head.weight is stored but tie_word_embeddings is true: transformers uses the embedding, "
                  "so the stored copy (%s) is not converted",
                  ingot_checkpoint_is_mapped(r->ck) ? "it differs from the embedding" : "not compared in an archive");
}

// ---- plan -----------------------------------------------------------------

static ingot_status add_blobs(run *r, ingot_err *err) {
    static const char *const names[] = {"tokenizer.json", "tokenizer_config.json"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = 0;
        const char *b = ingot_checkpoint_aux(r->ck, names[i], &n);
        if (b) INGOT_FORWARD_IF_ERROR(ingot_writer_add_blob(r->w, names[i], b, n, err));
    }
    if (r->m->engram) INGOT_FORWARD_IF_ERROR(ingot_engram_desc_add_blobs(r->m, r->w, err));
    return INGOT_OK;
}

static ingot_status add_tensors(run *r, ingot_err *err) {
    const size_t n = ingot_model_desc_n_tensors(r->m);
    r->widx = ingot_calloc(n + 1, sizeof *r->widx);
    INGOT_FAIL_IF(!r->widx, err, INGOT_E_NOMEM, "out of memory");
    ingot_region_kind kind = INGOT_REGION_DENSE;
    int32_t layer = -1;
    for (size_t i = 0; i < n; i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(r->m, i);
        const int32_t l = mt->region == INGOT_REGION_DENSE ? -1 : mt->layer;
        if (mt->region != kind || l != layer) {
            INGOT_FORWARD_IF_ERROR(ingot_writer_begin_region(r->w, mt->region, l, err));
            kind = mt->region;
            layer = l;
        }
        INGOT_FORWARD_IF_ERROR(
            ingot_writer_add_tensor(r->w, mt->name, r->choices[i].dtype, mt->n_dims, mt->dims, &r->widx[i], err));
    }
    return INGOT_OK;
}

static ingot_status run_plan(run *r, ingot_err *err) {
    const ingot_convert_opts *o = r->opts;
    const double t0 = now_s();
    INGOT_FORWARD_IF_ERROR(hash_sources(r, err));
    ingot_log(INGOT_LOG_DEBUG, "convert: source hashes %.3f s", now_s() - t0);
    INGOT_FORWARD_IF_ERROR(ingot_writer_create(o->dry_run ? NULL : o->dst, o->force ? INGOT_WRITER_FORCE : 0, &r->w, err));
    const char *cfg = r->config;
    size_t cfg_n = r->config_n;
    if (!cfg) cfg = ingot_checkpoint_aux(r->ck, "config.json", &cfg_n);
    INGOT_FORWARD_IF_ERROR(ingot_convert_metadata(o, r->m, r->ck, cfg, cfg_n, ingot_policy_preset(r->pol), r->hashes,
                                                  r->choices, &r->meta, &r->meta_n, err));
    INGOT_FORWARD_IF_ERROR(ingot_writer_set_metadata(r->w, r->meta, r->meta_n, err));
    INGOT_FORWARD_IF_ERROR(add_blobs(r, err));
    INGOT_FORWARD_IF_ERROR(add_tensors(r, err));
    return ingot_writer_plan(r->w, err);
}

// ---- data -----------------------------------------------------------------

static ingot_status items_init(run *r, ingot_err *err) {
    const size_t n = ingot_model_desc_n_tensors(r->m);
    r->items = ingot_calloc(n + 1, sizeof *r->items);
    INGOT_FAIL_IF(!r->items, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(r->m, i);
        INGOT_FORWARD_IF_ERROR(ingot_exec_item_init(&r->items[i], mt, ingot_convert_scale_kind(r->ck, mt),
                                                     r->choices[i].dtype, r->widx[i], err));
        if (r->im && r->items[i].mode == EXEC_ROWS && ingot_dtype_get(r->choices[i].dtype)->is_quant)
            INGOT_FORWARD_IF_ERROR(ingot_imatrix_find(r->im, mt->name, r->items[i].cols, &r->items[i].imatrix, err));
    }
    return INGOT_OK;
}

// Mapped sources: tensor bytes are read with pread from the shard files (no
// page faults, nothing stays mapped); the mapping remains for the small FP8
// scale tensors and as a fallback when a shard cannot be opened.
static ingot_status exec_mapped(run *r, exec_ctx *x, ingot_err *err) {
    const size_t n = ingot_model_desc_n_tensors(r->m), n_shards = ingot_checkpoint_n_shards(r->ck);
    int *fds = ingot_malloc((n_shards + 1) * sizeof *fds);
    INGOT_FAIL_IF(!fds, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n_shards; i++) {
        char path[4096];
        shard_path(r->ck, i, path, sizeof path);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] >= 0) posix_fadvise(fds[i], 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    ingot_status st = INGOT_OK;
    for (size_t i = 0; i < n && st == INGOT_OK; i++) {
        exec_item *it = &r->items[i];
        st = ingot_convert_source_get(r->ck, it->mt, &it->src, err);
        const ingot_st_tensor *t = ingot_checkpoint_tensor(r->ck, it->mt->src);
        it->fd = fds[t->file_index];
        it->file_off = t->data_off + it->mt->src_off;
        it->path = ingot_checkpoint_shard_get(r->ck, t->file_index)->name;
        x->run[i] = i;
    }
    x->n_run = n;
    x->release = true;
    if (st == INGOT_OK) st = ingot_exec_run_batch(x, r->pool, err);
    for (size_t i = 0; i < n_shards; i++)
        if (fds[i] >= 0) close(fds[i]);
    ingot_free(fds);
    return st;
}

// Archive streaming: tensors arrive once, in storage order.
typedef struct stream_ctx {
    run *r;
    exec_ctx *x;
    size_t *adj;       // item indices grouped by source tensor
    size_t *adj_first; // [n_src + 1]
    size_t *refs;      // [n_src] items still needing the tensor
    uint8_t **held;    // [n_src] copies kept for a later partner
} stream_ctx;

static const uint8_t *stream_ptr(const stream_ctx *s, size_t src, size_t cur, const uint8_t *data) {
    return src == cur ? data : s->held[src];
}

static void stream_release(stream_ctx *s, size_t src) {
    if (--s->refs[src] == 0) {
        ingot_free(s->held[src]);
        s->held[src] = NULL;
    }
}

static ingot_status stream_tensor(void *ctx, size_t ti, const uint8_t *data, ingot_err *err) {
    stream_ctx *s = ctx;
    exec_ctx *x = s->x;
    x->n_run = 0;
    for (size_t k = s->adj_first[ti]; k < s->adj_first[ti + 1]; k++) {
        exec_item *it = &x->items[s->adj[k]];
        const ingot_desc_tensor *mt = it->mt;
        const uint8_t *d = stream_ptr(s, mt->src, ti, data);
        const uint8_t *sc = mt->src_scale >= 0 ? stream_ptr(s, (size_t)mt->src_scale, ti, data) : NULL;
        if (!d || (mt->src_scale >= 0 && !sc)) {
            if (!s->held[ti]) {
                const uint64_t size = ingot_checkpoint_tensor(s->r->ck, ti)->size;
                s->held[ti] = ingot_malloc(size ? (size_t)size : 1);
                INGOT_FAIL_IF(!s->held[ti], err, INGOT_E_NOMEM, "out of memory holding tensor '%s'",
                              ingot_checkpoint_tensor(s->r->ck, ti)->name);
                memcpy(s->held[ti], data, (size_t)size);
            }
            continue;
        }
        it->src.data = d + mt->src_off;
        ingot_convert_source_set_scale(s->r->ck, mt, sc, &it->src);
        x->run[x->n_run++] = s->adj[k];
    }
    if (x->n_run == 0) return INGOT_OK;
    INGOT_FORWARD_IF_ERROR(ingot_exec_run_batch(x, s->r->pool, err));
    for (size_t j = 0; j < x->n_run; j++) {
        const ingot_desc_tensor *mt = x->items[x->run[j]].mt;
        stream_release(s, mt->src);
        if (mt->src_scale >= 0) stream_release(s, (size_t)mt->src_scale);
    }
    return INGOT_OK;
}

static ingot_status stream_index(stream_ctx *s, size_t n_src, ingot_err *err) {
    const size_t n = ingot_model_desc_n_tensors(s->r->m);
    s->adj = ingot_calloc(2 * n + 1, sizeof *s->adj);
    s->adj_first = ingot_calloc(n_src + 2, sizeof *s->adj_first);
    s->refs = ingot_calloc(n_src + 1, sizeof *s->refs);
    s->held = ingot_calloc(n_src + 1, sizeof *s->held);
    INGOT_FAIL_IF(!s->adj || !s->adj_first || !s->refs || !s->held, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(s->r->m, i);
        s->refs[mt->src]++;
        if (mt->src_scale >= 0) s->refs[mt->src_scale]++;
    }
    for (size_t t = 0; t < n_src; t++) s->adj_first[t + 1] = s->adj_first[t] + s->refs[t];
    size_t *fill = ingot_calloc(n_src + 1, sizeof *fill);
    INGOT_FAIL_IF(!fill, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(s->r->m, i);
        s->adj[s->adj_first[mt->src] + fill[mt->src]++] = i;
        if (mt->src_scale >= 0) s->adj[s->adj_first[mt->src_scale] + fill[mt->src_scale]++] = i;
    }
    ingot_free(fill);
    return INGOT_OK;
}

static ingot_status exec_stream(run *r, exec_ctx *x, ingot_err *err) {
    const size_t n_src = ingot_checkpoint_n_tensors(r->ck);
    stream_ctx s = {.r = r, .x = x};
    ingot_status st = stream_index(&s, n_src, err);
    if (st == INGOT_OK) st = ingot_checkpoint_foreach(r->ck, stream_tensor, &s, err);
    for (size_t t = 0; s.held && t < n_src; t++) ingot_free(s.held[t]);
    ingot_free(s.held);
    ingot_free(s.refs);
    ingot_free(s.adj_first);
    ingot_free(s.adj);
    return st;
}

static ingot_status check_nonfinite(run *r, ingot_convert_report *rep, ingot_err *err) {
    uint64_t total = 0;
    const exec_item *first = NULL;
    for (size_t i = 0; i < ingot_model_desc_n_tensors(r->m); i++) {
        total += r->items[i].nf.count;
        if (!first && r->items[i].nf.count) first = &r->items[i];
    }
    if (rep) rep->n_nonfinite = total;
    if (!first) return INGOT_OK;
    const ingot_st_tensor *t = ingot_checkpoint_tensor(r->ck, first->mt->src);
    const ingot_checkpoint_shard *sh = ingot_checkpoint_shard_get(r->ck, t->file_index);
    const uint64_t off = t->data_off + first->mt->src_off + first->nf.first * ingot_dtype_get(first->mt->src_dtype)->type_size;
    const uint64_t row = first->nf.first / first->cols, col = first->nf.first % first->cols;
    if (r->opts->allow_nonfinite) {
        ingot_log(INGOT_LOG_WARN, "%" PRIu64 " NaN/Inf weights kept; first in %s: tensor '%s' [%" PRIu64 ", %" PRIu64
                  "] at offset %" PRIu64, total, sh ? sh->name : "?", t->name, row, col, off);
        return INGOT_OK;
    }
    ingot_err_set(err, INGOT_E_FORMAT,
                  "%" PRIu64 " NaN/Inf weights; first in %s: tensor '%s' element [%" PRIu64 ", %" PRIu64
                  "] at offset %" PRIu64 " (use --allow-nonfinite to convert anyway)",
                  total, sh ? sh->name : "?", t->name, row, col, off);
    ingot_err_where(err, sh ? sh->name : NULL, t->name, (int64_t)off);
    return INGOT_E_FORMAT;
}

static ingot_status run_data(run *r, ingot_convert_report *rep, ingot_err *err) {
    const size_t n = ingot_model_desc_n_tensors(r->m);
    INGOT_FORWARD_IF_ERROR(items_init(r, err));
    exec_ctx x;
    memset(&x, 0, sizeof x);
    x.w = r->w;
    x.progress = r->opts->progress;
    x.progress_user = r->opts->progress_user;
    ingot_status st = ingot_exec_ctx_init(&x, r->items, n, ingot_pool_n_threads(r->pool), err);
    if (st == INGOT_OK)
        st = ingot_checkpoint_is_mapped(r->ck) ? exec_mapped(r, &x, err) : exec_stream(r, &x, err);
    ingot_exec_ctx_deinit(&x);
    const double t1 = now_s();
    ingot_log(INGOT_LOG_DEBUG, "convert: data %.3f s, peak RSS so far %.1f MiB", t1 - x.t0, peak_rss_kib() / 1024.0);
    if (st == INGOT_OK) st = check_nonfinite(r, rep, err);
    if (st == INGOT_OK && ingot_interrupted()) st = ingot_err_set(err, INGOT_E_INTERRUPTED, "interrupted");
    if (st == INGOT_OK) st = ingot_writer_finish(r->w, r->pool, err);
    ingot_log(INGOT_LOG_DEBUG, "convert: finish (checksums, fsync, rename) %.3f s", now_s() - t1);
    return st;
}

// ---- report ---------------------------------------------------------------

static ingot_status fill_report(const run *r, ingot_convert_report *rep, ingot_err *err) {
    const size_t n = ingot_model_desc_n_tensors(r->m);
    snprintf(rep->arch, sizeof rep->arch, "%s", ingot_model_desc_hparams(r->m)->arch);
    rep->n_tensors = n;
    rep->n_extra = ingot_model_desc_n_extra(r->m);
    for (size_t i = 0; i < ingot_checkpoint_n_shards(r->ck); i++) rep->src_bytes += ingot_checkpoint_shard_get(r->ck, i)->size;
    rep->plan = ingot_calloc(n + 1, sizeof *rep->plan);
    INGOT_FAIL_IF(!rep->plan, err, INGOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ingot_desc_tensor *mt = ingot_model_desc_tensor(r->m, i);
        ingot_convert_plan_item *p = &rep->plan[i];
        snprintf(p->name, sizeof p->name, "%s", mt->name);
        ingot_convert_source_name(r->ck, mt, p->source, sizeof p->source);
        p->type = r->choices[i].dtype;
        const ingot_scale_kind sk = ingot_convert_scale_kind(r->ck, mt);
        p->src_type = sk == INGOT_SCALE_B128  ? INGOT_DTYPE_F8_E4M3_B128
                      : sk == INGOT_SCALE_R32 ? INGOT_DTYPE_F8_E4M3_R32
                                              : mt->src_dtype;
        p->n_dims = mt->n_dims;
        memcpy(p->dims, mt->dims, sizeof p->dims);
        p->n_elements = ingot_policy_tensor_n_elements(&r->pts[i]);
        p->bytes = r->choices[i].bytes;
        snprintf(p->reason, sizeof p->reason, "%s", r->choices[i].reason);
        rep->n_params += p->n_elements;
        rep->tensor_bytes += p->bytes;
    }
    rep->bpw = rep->n_params ? 8.0 * (double)rep->tensor_bytes / (double)rep->n_params : 0;
    rep->out_bytes = ingot_writer_file_size(r->w);
    return INGOT_OK;
}

ingot_status ingot_convert(const ingot_convert_opts *opts, ingot_convert_report *report, ingot_err *err) {
    INGOT_FAIL_IF(!opts, err, INGOT_E_ARG, "ingot_convert: NULL options");
    const double t0 = now_s();
    ingot_convert_report local;
    ingot_convert_report *rep = report ? report : &local;
    memset(rep, 0, sizeof *rep);
    run r;
    memset(&r, 0, sizeof r);
    r.opts = opts;
    ingot_status st = run_open(&r, err);
    if (st == INGOT_OK) st = run_choose(&r, err);
    if (st == INGOT_OK) note_tied_head(&r);
    if (st == INGOT_OK) st = run_plan(&r, err);
    if (st == INGOT_OK) st = fill_report(&r, rep, err);
    if (st == INGOT_OK && !opts->dry_run) st = run_data(&r, rep, err);
    run_deinit(&r);
    rep->seconds = now_s() - t0;
    if (st != INGOT_OK || !report) ingot_convert_report_free(rep);
    return st;
}

void ingot_convert_report_free(ingot_convert_report *report) {
    if (!report) return;
    ingot_free(report->plan);
    report->plan = NULL;
}
