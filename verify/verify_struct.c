// Structural verification of a .ingot: reader rules, header and tensor
// checksums, the tensors the architecture needs, Engram consistency. Every
// problem is collected; nothing stops at the first.
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ingot/quantize.h"
#include "verify_internal.h"

void ingot_verify_opts_init(ingot_verify_opts *o) {
    memset(o, 0, sizeof *o);
    o->threshold_kld = -1;
    o->threshold_top1 = -1;
}

void ingot_verify_report_init(ingot_verify_report *r) {
    memset(r, 0, sizeof *r);
}

void ingot_verify_report_deinit(ingot_verify_report *r) {
    if (!r) return;
    ingot_free(r->problems);
    ingot_free(r->cmp);
    ingot_free(r->trace);
    memset(r, 0, sizeof *r);
}

void verify_add_problem(ingot_verify_report *r, ingot_status code, const char *tensor, int64_t off,
                        const char *fmt, ...) {
    if (r->n_problems == r->cap_problems) {
        size_t cap = r->cap_problems ? r->cap_problems * 2 : 16;
        ingot_verify_problem *p = ingot_realloc(r->problems, cap * sizeof *p);
        if (!p) {
            r->n_problems++; // counted, text lost
            return;
        }
        r->problems = p;
        r->cap_problems = cap;
    }
    if (r->n_problems >= r->cap_problems) {
        r->n_problems++;
        return;
    }
    ingot_verify_problem *p = &r->problems[r->n_problems++];
    memset(p, 0, sizeof *p);
    p->code = code;
    p->off = off;
    if (tensor) snprintf(p->tensor, sizeof p->tensor, "%s", tensor);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// ---- checksums on the pool --------------------------------------------------
// Each tensor is read back with pread into a per-thread buffer and hashed;
// only a mismatch goes through the reader's own check, for its message. On
// virtual machines the kernel's copy out of the page cache is faster than
// faulting pages into the mapping, and memory stays at one buffer a thread.
#define VERIFY_CHUNK (4u << 20)

typedef struct hash_job {
    const ingot_container *c;
    int fd;                 // -1: hash through the mapping
    uint8_t **bufs;         // [n_threads]
    ingot_status *st;
    ingot_err *errs;
} hash_job;

static void hash_one(void *ctx, size_t i, int worker) {
    hash_job *j = ctx;
    const ingot_tensor_info *t = ingot_container_tensor(j->c, i);
    if (j->fd < 0) {
        j->st[i] = ingot_container_verify_tensor(j->c, i, &j->errs[i]);
        return;
    }
    uint64_t h = 0;
    ingot_err re = {0};
    // a read error falls back to the mapping, as does a mismatch (for the reader's message)
    if (ingot_file_xxh3(j->fd, t->off, t->size, j->bufs[worker], VERIFY_CHUNK, &h, t->name, &re) != INGOT_OK ||
        h != t->xxh3)
        j->st[i] = ingot_container_verify_tensor(j->c, i, &j->errs[i]);
    else
        j->st[i] = INGOT_OK;
}

// ---- expected tensors ---------------------------------------------------------
static bool is_vector_type(ingot_dtype t) {
    return t == INGOT_DTYPE_F32 || t == INGOT_DTYPE_F16 || t == INGOT_DTYPE_BF16;
}

static bool runner_can_matmul(ingot_dtype t) {
    if (t == INGOT_DTYPE_F8_E4M3_B128) return true;
    const ingot_quant_traits *q = ingot_quant_get(t);
    return q && q->vec_dot && t != INGOT_DTYPE_Q8_K;
}

static void check_expected(const ingot_container *c, const verify_expect *e, size_t n, ingot_verify_report *r) {
    for (size_t i = 0; i < n; i++) {
        int64_t k = ingot_container_find_tensor(c, e[i].name);
        if (k < 0) {
            verify_add_problem(r, INGOT_E_FORMAT, e[i].name, -1, "tensor '%s' required by the architecture is missing",
                               e[i].name);
            continue;
        }
        const ingot_tensor_info *t = ingot_container_tensor(c, (size_t)k);
        bool same = t->n_dims == e[i].n_dims;
        for (uint32_t d = 0; same && d < t->n_dims; d++) same = t->dims[d] == e[i].dims[d];
        if (!same) {
            char want[96] = "", got[96] = "";
            size_t wl = 0, gl = 0;
            for (uint32_t d = 0; d < e[i].n_dims; d++)
                wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%llu", d ? ", " : "",
                                       (unsigned long long)e[i].dims[d]);
            for (uint32_t d = 0; d < t->n_dims && d < 4; d++)
                gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%llu", d ? ", " : "",
                                       (unsigned long long)t->dims[d]);
            verify_add_problem(r, INGOT_E_FORMAT, e[i].name, (int64_t)t->off,
                               "tensor '%s' has shape [%s], the architecture needs [%s]", e[i].name, got, want);
        }
        bool ok_type = e[i].weight ? runner_can_matmul(t->dtype) : is_vector_type(t->dtype);
        if (!ok_type)
            verify_add_problem(r, INGOT_E_FORMAT, e[i].name, (int64_t)t->off,
                               "tensor '%s' has type %s, which the runner cannot execute for a %s", e[i].name,
                               ingot_dtype_name(t->dtype), e[i].weight ? "weight matrix" : "vector");
    }
}

ingot_status ingot_verify_structure(const char *path, const ingot_verify_opts *opts, ingot_verify_report *r,
                                    ingot_err *err) {
    r->structure_ran = true;
    ingot_container *c = NULL;
    ingot_err oe = {0};
    ingot_status st = ingot_container_open(path, 0, &c, &oe);
    if (st == INGOT_E_IO || st == INGOT_E_NOMEM || st == INGOT_E_UNSUPPORTED) {
        ingot_err_where(err, path, NULL, -1);
        return ingot_err_set(err, st, "%s", oe.msg);
    }
    if (st != INGOT_OK) {
        // The file is there but breaks a rule of the format or its header
        // checksum: that is a verification failure, not an unreadable file.
        r->readable = false;
        verify_add_problem(r, st, oe.tensor[0] ? oe.tensor : NULL, oe.off, "%s", oe.msg);
        return INGOT_OK;
    }
    r->readable = true;
    size_t n = ingot_container_n_tensors(c);
    r->n_tensors = n;

    // every tensor checksum, on all cores
    ingot_pool *pool = NULL;
    ingot_status *sts = ingot_calloc(n ? n : 1, sizeof *sts);
    ingot_err *errs = ingot_calloc(n ? n : 1, sizeof *errs);
    if (!sts || !errs || ingot_pool_create(opts ? opts->n_threads : 0, &pool, err) != INGOT_OK) {
        ingot_free(sts);
        ingot_free(errs);
        ingot_container_close(c);
        return ingot_err_set(err, INGOT_E_NOMEM, "%s: out of memory verifying checksums", path);
    }
    int nt = ingot_pool_n_threads(pool);
    hash_job job = {c, open(path, O_RDONLY | O_CLOEXEC), ingot_calloc((size_t)nt, sizeof(uint8_t *)), sts, errs};
    for (int k = 0; job.fd >= 0 && job.bufs && k < nt; k++)
        if (!(job.bufs[k] = ingot_malloc(VERIFY_CHUNK))) {
            close(job.fd);
            job.fd = -1;
        }
    if (!job.bufs && job.fd >= 0) {
        close(job.fd);
        job.fd = -1;
    }
    double t0 = now_s();
    ingot_pool_run(pool, n, hash_one, &job);
    r->hash_seconds = now_s() - t0;
    ingot_pool_free(pool);
    if (job.fd >= 0) close(job.fd);
    for (int k = 0; job.bufs && k < nt; k++) ingot_free(job.bufs[k]);
    ingot_free(job.bufs);
    for (size_t i = 0; i < n; i++) {
        const ingot_tensor_info *t = ingot_container_tensor(c, i);
        r->bytes_hashed += t->size;
        if (sts[i] != INGOT_OK) verify_add_problem(r, sts[i], t->name, (int64_t)t->off, "%s", errs[i].msg);
    }
    ingot_free(sts);
    ingot_free(errs);

    // what the architecture needs
    size_t mlen = 0;
    const char *mtext = ingot_container_metadata(c, &mlen);
    cJSON *meta = mtext ? cJSON_ParseWithLength(mtext, mlen) : NULL;
    if (!meta || !cJSON_IsObject(meta)) {
        verify_add_problem(r, INGOT_E_FORMAT, NULL, -1, "%s: metadata is not a JSON object", path);
    } else {
        const cJSON *arch = cJSON_GetObjectItemCaseSensitive(meta, "arch");
        if (cJSON_IsString(arch)) snprintf(r->arch, sizeof r->arch, "%s", arch->valuestring);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(meta, "quantization");
        const cJSON *preset = q ? cJSON_GetObjectItemCaseSensitive(q, "preset") : NULL;
        if (cJSON_IsString(preset)) snprintf(r->preset, sizeof r->preset, "%s", preset->valuestring);
        verify_expect *ex = NULL;
        size_t n_ex = verify_expected_tensors(meta, r, &ex);
        check_expected(c, ex, n_ex, r);
        ingot_free(ex);
        verify_engram_consistency(c, meta, r);
    }
    cJSON_Delete(meta);
    ingot_container_close(c);
    return INGOT_OK;
}
