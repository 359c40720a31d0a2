// convert/: the data phase. Every output tensor is cut into independent
// units (a byte range to copy, or a band of rows to decode and quantize);
// units run on the thread pool and each writes its bytes at its planned
// offset, so the output is byte-identical for any thread count. Memory per
// thread is one band (INGOT_CONVERT_UNIT_ELEMS floats plus its encoded
// form), whatever the model size. Mapped sources drop the pages of each band
// once it is written, so resident memory does not grow with the model.
// Archive sources are streamed tensor by tensor (ingot_checkpoint_foreach);
// an FP8 weight and its scale tensor are paired by holding a copy of the
// one that arrives first.
//
// FP8 sources carry f32/bf16 scale_inv per 128×128 tile (DeepSeek-V3) or
// E8M0 bytes per 1×32 row segment or 32×32 tile (DeepSeek-V4.1 Engram); an
// FP8 source with 1×32 E8M0 scales stored as f8_e4m3_r32 is re-packed byte
// for byte (EXEC_R32) instead of decoded.
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "convert_exec.h"
#include "ingot/quantize.h"

#define UNIT_ELEMS (512u * 1024u)       // floats per row band
#define UNIT_COPY_BYTES (8u << 20)      // bytes per copy unit
#define COPY_PIECE (256u << 10)         // bytes scanned then written at once

// ---- decoding -------------------------------------------------------------

void ingot_convert_shape(const ingot_desc_tensor *mt, uint64_t *n_rows, uint64_t *n_cols) {
    *n_cols = mt->n_dims ? mt->dims[mt->n_dims - 1] : 1;
    uint64_t r = 1;
    for (uint32_t i = 0; i + 1 < mt->n_dims; i++) r *= mt->dims[i];
    *n_rows = r;
}

ingot_status ingot_convert_source_get(const ingot_checkpoint *ck, const ingot_desc_tensor *mt,
                                      ingot_convert_source *out, ingot_err *err) {
    const uint8_t *base = ingot_checkpoint_tensor_data(ck, mt->src);
    INGOT_FAIL_IF(!base && mt->src_bytes, err, INGOT_E_STATE, "%s: tensor '%s' has no mapped data",
                  ingot_checkpoint_path(ck), ingot_checkpoint_tensor(ck, mt->src)->name);
    out->data = base ? base + mt->src_off : NULL;
    ingot_convert_source_set_scale(ck, mt, mt->src_scale >= 0 ? ingot_checkpoint_tensor_data(ck, (size_t)mt->src_scale)
                                                               : NULL, out);
    return INGOT_OK;
}

// E8M0 scales: one byte per row segment of 32 when the scale tensor has a
// row per source row, else per 32×32 tile (the mapper checked the shape; a
// one-row tensor reads the same either way).
ingot_scale_kind ingot_convert_scale_kind(const ingot_checkpoint *ck, const ingot_desc_tensor *mt) {
    if (mt->src_scale < 0) return INGOT_SCALE_NONE;
    const ingot_st_tensor *sc = ingot_checkpoint_tensor(ck, (size_t)mt->src_scale);
    if (sc->dtype != INGOT_DTYPE_E8M0) return INGOT_SCALE_B128;
    const ingot_st_tensor *t = ingot_checkpoint_tensor(ck, mt->src);
    uint64_t rows = 1;
    for (uint32_t i = 0; i + 1 < t->n_dims; i++) rows *= t->dims[i];
    return sc->n_dims >= 1 && sc->dims[0] == rows ? INGOT_SCALE_R32 : INGOT_SCALE_B32;
}

void ingot_convert_source_set_scale(const ingot_checkpoint *ck, const ingot_desc_tensor *mt, const uint8_t *scale,
                                    ingot_convert_source *s) {
    s->scale = scale;
    s->scale_kind = scale ? ingot_convert_scale_kind(ck, mt) : INGOT_SCALE_NONE;
    s->scale_dtype = scale ? ingot_checkpoint_tensor(ck, (size_t)mt->src_scale)->dtype : INGOT_DTYPE_F32;
    uint64_t rows, cols;
    ingot_convert_shape(mt, &rows, &cols);
    const uint64_t row_bytes = cols * ingot_dtype_get(mt->src_dtype)->type_size;
    s->row_base = row_bytes ? mt->src_off / row_bytes : 0;
}

static float scale_at(const ingot_convert_source *s, uint64_t i) {
    if (s->scale_dtype == INGOT_DTYPE_BF16) {
        uint16_t h;
        memcpy(&h, s->scale + 2 * i, 2);
        return ingot_bf16_to_f32(h);
    }
    float f;
    memcpy(&f, s->scale + 4 * i, 4);
    return f;
}

static void count_nonfinite(const float *x, uint64_t n, uint64_t base, ingot_convert_nonfinite *nf) {
    for (uint64_t i = 0; i < n; i++) {
        if (isfinite(x[i])) continue;
        if (nf->count++ == 0 || base + i < nf->first) nf->first = base + i;
    }
}

static void scan_raw(ingot_dtype t, const uint8_t *p, uint64_t n_bytes, uint64_t elem0, ingot_convert_nonfinite *nf);

// Source elements to f32. The common types get inlined loops (the per-element
// calls of ingot_dtype_decode_f32 dominate a q8_0 conversion otherwise);
// FP8 goes through a 256-entry table.
static bool decode_plain(ingot_dtype t, const uint8_t *p, uint64_t n, float *dst) {
    switch (t) {
    case INGOT_DTYPE_F32: memcpy(dst, p, (size_t)n * 4); return true;
    case INGOT_DTYPE_BF16:
        for (uint64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            const uint32_t u = (uint32_t)h << 16;
            memcpy(dst + i, &u, 4);
        }
        return true;
    case INGOT_DTYPE_F8_E4M3:
    case INGOT_DTYPE_F8_E5M2: {
        float lut[256];
        for (int v = 0; v < 256; v++)
            lut[v] = t == INGOT_DTYPE_F8_E4M3 ? ingot_e4m3_to_f32((uint8_t)v) : ingot_e5m2_to_f32((uint8_t)v);
        for (uint64_t i = 0; i < n; i++) dst[i] = lut[p[i]];
        return true;
    }
    default: return ingot_dtype_decode_f32(t, p, (size_t)n, dst);
    }
}

// Decode n_rows rows whose source bytes start at p (row row0 of the tensor).
static ingot_status decode_band(const ingot_desc_tensor *mt, const uint8_t *p, const ingot_convert_source *s,
                                uint64_t row0, uint64_t n_rows, float *dst, ingot_convert_nonfinite *nf,
                                ingot_err *err) {
    uint64_t rows, cols;
    ingot_convert_shape(mt, &rows, &cols);
    const ingot_dtype_traits *tr = ingot_dtype_get(mt->src_dtype);
    INGOT_FAIL_IF(!decode_plain(mt->src_dtype, p, n_rows * cols, dst), err, INGOT_E_UNSUPPORTED,
                  "tensor '%s': cannot decode %s", mt->name, tr->name);
    if (!s->scale) {
        // A decoded value is NaN/Inf exactly when its source bytes are.
        if (nf) scan_raw(mt->src_dtype, p, n_rows * cols * tr->type_size, row0 * cols, nf);
        return INGOT_OK;
    }
    // value = e4m3 * scale[row / br][col / bc]: scale_inv per 128×128 tile
    // (DeepSeek-V3), or 2^(e−127) per 1×32 / 32×32 (DeepSeek-V4.1). Rows
    // count from the source tensor's first row (a slice starts at row_base).
    const uint64_t br = s->scale_kind == INGOT_SCALE_B128 ? 128 : s->scale_kind == INGOT_SCALE_B32 ? 32 : 1;
    const uint64_t bc = s->scale_kind == INGOT_SCALE_B128 ? 128 : 32;
    const uint64_t sc = (cols + bc - 1) / bc;
    for (uint64_t r = 0; r < n_rows; r++) {
        float *x = dst + r * cols;
        const uint64_t srow = (s->row_base + row0 + r) / br;
        for (uint64_t c0 = 0; c0 < cols; c0 += bc) {
            const float f = s->scale_dtype == INGOT_DTYPE_E8M0 ? ingot_e8m0_to_f32(s->scale[srow * sc + c0 / bc])
                                                                : scale_at(s, srow * sc + c0 / bc);
            const uint64_t c1 = c0 + bc < cols ? c0 + bc : cols;
            for (uint64_t c = c0; c < c1; c++) x[c] *= f;
        }
    }
    if (nf) count_nonfinite(dst, n_rows * cols, row0 * cols, nf);
    return INGOT_OK;
}

ingot_status ingot_convert_decode_rows(const ingot_desc_tensor *mt, const ingot_convert_source *s, uint64_t row0,
                                       uint64_t n_rows, float *dst, ingot_convert_nonfinite *nf, ingot_err *err) {
    uint64_t rows, cols;
    ingot_convert_shape(mt, &rows, &cols);
    INGOT_FAIL_IF(row0 + n_rows > rows, err, INGOT_E_ARG, "tensor '%s': rows [%llu, %llu) out of range", mt->name,
                  (unsigned long long)row0, (unsigned long long)(row0 + n_rows));
    const uint8_t *p = s->data + row0 * cols * ingot_dtype_get(mt->src_dtype)->type_size;
    return decode_band(mt, p, s, row0, n_rows, dst, nf, err);
}

// NaN/Inf straight from source bytes (copy units), without decoding: the
// exponent field of a lane is all ones. Eight bytes at a time: with `m` the
// exponent mask of one lane and `lo` its lowest bit, (x & m) + lo carries into
// the lane's sign bit exactly when the exponent is all ones, and never into
// the next lane.
typedef struct scan_lane {
    uint32_t bytes;  // lane width
    uint64_t mask;   // exponent mask, replicated over the word
    uint64_t low;    // lowest exponent bit, replicated
    uint64_t top;    // sign bit, replicated
} scan_lane;

static const scan_lane *scan_lane_get(ingot_dtype t) {
    static const scan_lane k_f32 = {4, 0x7f8000007f800000ull, 0x0080000000800000ull, 0x8000000080000000ull};
    static const scan_lane k_f16 = {2, 0x7c007c007c007c00ull, 0x0400040004000400ull, 0x8000800080008000ull};
    static const scan_lane k_bf16 = {2, 0x7f807f807f807f80ull, 0x0080008000800080ull, 0x8000800080008000ull};
    static const scan_lane k_f64 = {8, 0x7ff0000000000000ull, 0x0010000000000000ull, 0x8000000000000000ull};
    static const scan_lane k_e4m3 = {1, 0x7f7f7f7f7f7f7f7full, 0x0101010101010101ull, 0x8080808080808080ull};
    static const scan_lane k_e5m2 = {1, 0x7c7c7c7c7c7c7c7cull, 0x0404040404040404ull, 0x8080808080808080ull};
    switch (t) {
    case INGOT_DTYPE_F32: return &k_f32;
    case INGOT_DTYPE_F16: return &k_f16;
    case INGOT_DTYPE_BF16: return &k_bf16;
    case INGOT_DTYPE_F64: return &k_f64;
    case INGOT_DTYPE_F8_E4M3: return &k_e4m3;
    case INGOT_DTYPE_F8_E5M2: return &k_e5m2;
    default: return NULL;
    }
}

static uint64_t scan_word(const scan_lane *l, uint64_t w) { return ((w & l->mask) + l->low) & l->top; }

// n_bytes is a multiple of the lane width; elem0 is the element index of p[0].
static void scan_raw(ingot_dtype t, const uint8_t *p, uint64_t n_bytes, uint64_t elem0, ingot_convert_nonfinite *nf) {
    const scan_lane *l = scan_lane_get(t);
    if (!l) return;
    // Fast path: OR of all hits; counting happens only when something hit.
    uint64_t any = 0, i = 0;
    for (; i + 8 <= n_bytes; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        any |= scan_word(l, w);
    }
    uint64_t tail = 0; // zero bytes past the end are finite and never hit
    memcpy(&tail, p + i, (size_t)(n_bytes - i));
    any |= scan_word(l, tail);
    if (!any) return;
    uint64_t cnt = 0, first = UINT64_MAX;
    for (uint64_t j = 0; j < n_bytes; j += 8) {
        uint64_t w = 0;
        memcpy(&w, p + j, n_bytes - j < 8 ? (size_t)(n_bytes - j) : 8);
        for (uint64_t hit = scan_word(l, w); hit; hit &= hit - 1) {
            if (first == UINT64_MAX) first = (j + (uint64_t)__builtin_ctzll(hit) / 8) / l->bytes;
            cnt++;
        }
    }
    if (nf->count == 0 || elem0 + first < nf->first) nf->first = elem0 + first;
    nf->count += cnt;
}

// ---- encoding -------------------------------------------------------------

static void encode_rows(const exec_item *it, const float *x, uint64_t n_rows, uint8_t *out) {
    const uint64_t n = n_rows * it->cols;
    switch (it->type) {
    case INGOT_DTYPE_F32: memcpy(out, x, n * 4); return;
    case INGOT_DTYPE_F16:
    case INGOT_DTYPE_BF16:
        // the dispatched row kernels round exactly as the scalar conversions do
        ingot_quant_get(it->type)->quantize_row(x, out, (int64_t)n, NULL);
        return;
    default: {
        const ingot_quant_traits *q = ingot_quant_get(it->type);
        for (uint64_t r = 0; r < n_rows; r++)
            q->quantize_row(x + r * it->cols, out + r * it->out_row_bytes, (int64_t)it->cols, it->imatrix);
    }
    }
}

// ---- items and units ------------------------------------------------------

// Row bands of `it` sized to one unit of UNIT_ELEMS values.
static void item_bands(exec_item *it) {
    it->unit_rows = it->cols >= UNIT_ELEMS ? 1 : UNIT_ELEMS / it->cols;
    if (it->unit_rows > it->rows) it->unit_rows = it->rows;
    if (it->unit_rows == 0) it->unit_rows = 1;
    it->n_units = (it->rows + it->unit_rows - 1) / it->unit_rows;
}

ingot_status ingot_exec_item_init(exec_item *it, const ingot_desc_tensor *mt, ingot_scale_kind kind, ingot_dtype type,
                                  size_t widx, ingot_err *err) {
    memset(it, 0, sizeof *it);
    it->mt = mt;
    it->type = type;
    it->widx = widx;
    it->nf.first = UINT64_MAX;
    it->fd = -1;
    ingot_convert_shape(mt, &it->rows, &it->cols);
    const bool scaled = mt->src_scale >= 0;
    if (type == INGOT_DTYPE_F8_E4M3_R32 && kind == INGOT_SCALE_R32 && mt->src_dtype == INGOT_DTYPE_F8_E4M3) {
        // The source is f8_e4m3_r32 split in two tensors: interleave, bit for bit.
        INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(type, it->cols, &it->out_row_bytes, err));
        it->mode = EXEC_R32;
        item_bands(it);
        return INGOT_OK;
    }
    if (type == INGOT_DTYPE_F8_E4M3_B128) {
        INGOT_FAIL_IF(kind != INGOT_SCALE_B128, err, INGOT_E_UNSUPPORTED,
                      "tensor '%s': f8_e4m3_b128 needs an FP8 source with 128x128 block scales", mt->name);
        it->mode = EXEC_B128;
        it->unit_bytes = UNIT_COPY_BYTES;
        it->n_units = (mt->src_bytes + UNIT_COPY_BYTES - 1) / UNIT_COPY_BYTES + 1;
        return INGOT_OK;
    }
    if (type == mt->src_dtype && !scaled) {
        it->mode = EXEC_COPY;
        it->unit_bytes = UNIT_COPY_BYTES;
        it->n_units = mt->src_bytes ? (mt->src_bytes + UNIT_COPY_BYTES - 1) / UNIT_COPY_BYTES : 0;
        return INGOT_OK;
    }
    const ingot_dtype_traits *tr = ingot_dtype_get(type);
    const bool plain = type == INGOT_DTYPE_F32 || type == INGOT_DTYPE_F16 || type == INGOT_DTYPE_BF16;
    const ingot_quant_traits *q = plain ? NULL : ingot_quant_get(type);
    INGOT_FAIL_IF(!plain && (!q || !q->quantize_row), err, INGOT_E_UNSUPPORTED,
                  "tensor '%s': no quantizer for type %s", mt->name, tr ? tr->name : "?");
    INGOT_FORWARD_IF_ERROR(ingot_dtype_row_bytes(type, it->cols, &it->out_row_bytes, err));
    it->mode = EXEC_ROWS;
    item_bands(it);
    return INGOT_OK;
}

uint64_t ingot_exec_item_f32_need(const exec_item *it) { return it->mode == EXEC_ROWS ? it->unit_rows * it->cols : 0; }

uint64_t ingot_exec_item_out_need(const exec_item *it) {
    if (it->mode == EXEC_ROWS || it->mode == EXEC_R32) return it->unit_rows * it->out_row_bytes;
    if (it->mode == EXEC_B128) return ((it->rows + 127) / 128) * ((it->cols + 127) / 128) * 4;
    return 0;
}

// Map a source byte range in one call instead of one page fault per few
// pages (page faults are expensive, more so under virtualisation).
static void populate_pages(const uint8_t *p, uint64_t n) {
#ifdef MADV_POPULATE_READ
    const long page = sysconf(_SC_PAGESIZE);
    const uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1);
    madvise((void *)a, (size_t)((uintptr_t)p + n - a), MADV_POPULATE_READ);
#else
    (void)p;
    (void)n;
#endif
}

// Drop the pages of a source byte range from this process (mapped sources).
static void release_pages(const uint8_t *p, uint64_t n) {
    const long page = sysconf(_SC_PAGESIZE);
    const uintptr_t a = ((uintptr_t)p + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
    const uintptr_t b = ((uintptr_t)p + n) & ~(uintptr_t)(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

static void exec_fail(exec_ctx *x, ingot_status st, const ingot_err *e) {
    pthread_mutex_lock(&x->mu);
    if (x->st == INGOT_OK) {
        x->st = st;
        if (e) x->err = *e;
    }
    atomic_store(&x->abort, true);
    pthread_mutex_unlock(&x->mu);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void item_done(exec_ctx *x, exec_item *it, const ingot_convert_nonfinite *nf) {
    pthread_mutex_lock(&x->mu);
    if (nf->count) {
        if (it->nf.count == 0 || nf->first < it->nf.first) it->nf.first = nf->first;
        it->nf.count += nf->count;
    }
    if (--it->left == 0) {
        x->n_done++;
        x->bytes_done += it->mt->src_bytes;
        if (x->progress) {
            const ingot_convert_progress p = {x->n_done, x->n_total, x->bytes_done, x->bytes_total,
                                              now_s() - x->t0};
            x->progress(&p, x->progress_user);
        }
    }
    pthread_mutex_unlock(&x->mu);
}

// Read n source bytes at byte `off` of the item's tensor data (pread path).
static ingot_status src_read(const exec_item *it, uint8_t *dst, uint64_t n, uint64_t off, ingot_err *err) {
    uint64_t done = 0;
    while (done < n) {
        const ssize_t r = pread(it->fd, dst + done, (size_t)(n - done), (off_t)(it->file_off + off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            ingot_err_set(err, INGOT_E_IO, "%s: tensor '%s': read failed at offset %llu: %s", it->path, it->mt->name,
                          (unsigned long long)(it->file_off + off + done), r < 0 ? strerror(errno) : "end of file");
            ingot_err_where(err, it->path, it->mt->name, (int64_t)(it->file_off + off + done));
            return INGOT_E_IO;
        }
        done += (uint64_t)r;
    }
    return INGOT_OK;
}

static ingot_status unit_copy(exec_ctx *x, exec_item *it, uint64_t k, uint8_t *buf, ingot_convert_nonfinite *nf,
                              ingot_err *err) {
    const uint64_t off = k * it->unit_bytes;
    const uint64_t n = it->mt->src_bytes - off < it->unit_bytes ? it->mt->src_bytes - off : it->unit_bytes;
    const uint32_t es = ingot_dtype_get(it->mt->src_dtype)->type_size;
    ingot_status st = INGOT_OK;
    if (it->fd >= 0) {
        // Pieces read, scanned and written while they are in cache.
        for (uint64_t pos = 0; pos < n && st == INGOT_OK; pos += COPY_PIECE) {
            const uint64_t m = n - pos < COPY_PIECE ? n - pos : COPY_PIECE;
            st = src_read(it, buf, m, off + pos, err);
            if (st != INGOT_OK) break;
            scan_raw(it->mt->src_dtype, buf, m, (off + pos) / es, nf);
            st = ingot_writer_write(x->w, it->widx, off + pos, buf, (size_t)m, err);
        }
        return st;
    }
    const uint8_t *p = it->src.data + off;
    if (x->release) populate_pages(p, n);
    for (uint64_t pos = 0; pos < n && st == INGOT_OK; pos += COPY_PIECE) {
        const uint64_t m = n - pos < COPY_PIECE ? n - pos : COPY_PIECE;
        scan_raw(it->mt->src_dtype, p + pos, m, (off + pos) / es, nf);
        st = ingot_writer_write(x->w, it->widx, off + pos, p + pos, (size_t)m, err);
    }
    if (x->release) release_pages(p, n);
    return st;
}

static ingot_status unit_scales(exec_ctx *x, exec_item *it, uint8_t *out, ingot_err *err) {
    const uint64_t n = ((it->rows + 127) / 128) * ((it->cols + 127) / 128);
    for (uint64_t i = 0; i < n; i++) {
        const float f = scale_at(&it->src, i);
        memcpy(out + 4 * i, &f, 4);
    }
    return ingot_writer_write(x->w, it->widx, it->mt->src_bytes, out, (size_t)(n * 4), err);
}

static ingot_status unit_rows(exec_ctx *x, exec_item *it, uint64_t k, float *f32, uint8_t *out, uint8_t *buf,
                              ingot_convert_nonfinite *nf, ingot_err *err) {
    const uint64_t r0 = k * it->unit_rows;
    const uint64_t nr = it->rows - r0 < it->unit_rows ? it->rows - r0 : it->unit_rows;
    const uint64_t es = ingot_dtype_get(it->mt->src_dtype)->type_size;
    const uint64_t band_off = r0 * it->cols * es, band_bytes = nr * it->cols * es;
    const uint8_t *p = it->src.data ? it->src.data + band_off : NULL;
    if (it->fd >= 0) {
        INGOT_FORWARD_IF_ERROR(src_read(it, buf, band_bytes, band_off, err));
        p = buf;
    } else if (x->release) {
        populate_pages(p, band_bytes);
    }
    INGOT_FORWARD_IF_ERROR(decode_band(it->mt, p, &it->src, r0, nr, f32, nf, err));
    encode_rows(it, f32, nr, out);
    const ingot_status st = ingot_writer_write(x->w, it->widx, r0 * it->out_row_bytes, out,
                                               (size_t)(nr * it->out_row_bytes), err);
    if (x->release && it->fd < 0) release_pages(p, band_bytes);
    return st;
}

// One band of an f8_e4m3_r32 table: for each row and each 32-column segment,
// the E8M0 scale byte, then the segment's 32 E4M3 bytes as they are.
static ingot_status unit_r32(exec_ctx *x, exec_item *it, uint64_t k, uint8_t *out, uint8_t *buf,
                             ingot_convert_nonfinite *nf, ingot_err *err) {
    const uint64_t r0 = k * it->unit_rows;
    const uint64_t nr = it->rows - r0 < it->unit_rows ? it->rows - r0 : it->unit_rows;
    const uint64_t band_off = r0 * it->cols, band_bytes = nr * it->cols, nb = it->cols / 32;
    const uint8_t *p = it->src.data ? it->src.data + band_off : NULL;
    if (it->fd >= 0) {
        INGOT_FORWARD_IF_ERROR(src_read(it, buf, band_bytes, band_off, err));
        p = buf;
    } else if (x->release) {
        populate_pages(p, band_bytes);
    }
    scan_raw(INGOT_DTYPE_F8_E4M3, p, band_bytes, r0 * it->cols, nf);
    const uint8_t *sc = it->src.scale + (it->src.row_base + r0) * nb;
    for (uint64_t r = 0; r < nr; r++) {
        for (uint64_t b = 0; b < nb; b++) {
            uint8_t *o = out + r * it->out_row_bytes + b * 33;
            o[0] = sc[r * nb + b];
            memcpy(o + 1, p + r * it->cols + b * 32, 32);
            if (o[0] != 0xff) continue; // E8M0 NaN: the whole segment is NaN
            const uint64_t e = (r0 + r) * it->cols + b * 32;
            if (nf->count == 0 || e < nf->first) nf->first = e;
            nf->count += 32;
        }
    }
    const ingot_status st = ingot_writer_write(x->w, it->widx, r0 * it->out_row_bytes, out,
                                               (size_t)(nr * it->out_row_bytes), err);
    if (x->release && it->fd < 0) release_pages(p, band_bytes);
    return st;
}

// Scratch of one worker, grown on first use to the largest unit of the run.
static ingot_status scratch_get(exec_ctx *x, int worker, float **f32, uint8_t **out, uint8_t **src,
                                ingot_err *err) {
    exec_scratch *s = &x->scratch[worker];
    if (!s->src && x->src_need) {
        s->src = ingot_malloc_aligned(64, (size_t)x->src_need);
        INGOT_FAIL_IF(!s->src, err, INGOT_E_NOMEM, "out of memory for a %llu-byte source band",
                      (unsigned long long)x->src_need);
    }
    *src = s->src;
    if (!s->f32 && x->f32_need) {
        s->f32 = ingot_malloc_aligned(64, (size_t)x->f32_need * sizeof(float));
        INGOT_FAIL_IF(!s->f32, err, INGOT_E_NOMEM, "out of memory for a %llu-float row band",
                      (unsigned long long)x->f32_need);
    }
    if (!s->out && x->out_need) {
        s->out = ingot_malloc_aligned(64, (size_t)x->out_need);
        INGOT_FAIL_IF(!s->out, err, INGOT_E_NOMEM, "out of memory for a %llu-byte output band",
                      (unsigned long long)x->out_need);
    }
    *f32 = s->f32;
    *out = s->out;
    return INGOT_OK;
}

static void run_unit(void *ctx, size_t u, int worker) {
    exec_ctx *x = ctx;
    if (atomic_load(&x->abort)) return;
    ingot_err err = {0};
    if (ingot_interrupted()) {
        ingot_err_set(&err, INGOT_E_INTERRUPTED, "interrupted");
        exec_fail(x, INGOT_E_INTERRUPTED, &err);
        return;
    }
    // The batch entry holding unit u: last j with run_first[j] <= u.
    size_t lo = 0, hi = x->n_run;
    while (hi - lo > 1) {
        const size_t mid = (lo + hi) / 2;
        if (x->run_first[mid] <= u) lo = mid;
        else hi = mid;
    }
    exec_item *it = &x->items[x->run[lo]];
    const uint64_t k = u - x->run_first[lo];
    ingot_convert_nonfinite nf = {0, UINT64_MAX};
    float *f32 = NULL;
    uint8_t *out = NULL, *src = NULL;
    ingot_status st = scratch_get(x, worker, &f32, &out, &src, &err);
    if (st == INGOT_OK) {
        if (it->mode == EXEC_ROWS) st = unit_rows(x, it, k, f32, out, src, &nf, &err);
        else if (it->mode == EXEC_R32) st = unit_r32(x, it, k, out, src, &nf, &err);
        else if (it->mode == EXEC_B128 && k == it->n_units - 1) st = unit_scales(x, it, out, &err);
        else st = unit_copy(x, it, k, src, &nf, &err);
    }
    if (st != INGOT_OK) {
        if (!err.tensor[0]) ingot_err_where(&err, NULL, it->mt->name, -1);
        exec_fail(x, st, &err);
        return;
    }
    item_done(x, it, &nf);
}

// Run every unit of the items x->run[0, n_run) (their src already set).
ingot_status ingot_exec_run_batch(exec_ctx *x, ingot_pool *pool, ingot_err *err) {
    uint64_t total = 0;
    for (size_t j = 0; j < x->n_run; j++) {
        exec_item *it = &x->items[x->run[j]];
        x->run_first[j] = total;
        it->left = it->n_units;
        total += it->n_units;
        if (it->n_units == 0) { // empty tensor: done without work
            it->left = 1;
            item_done(x, it, &(ingot_convert_nonfinite){0, UINT64_MAX});
        }
    }
    ingot_pool_run(pool, (size_t)total, run_unit, x);
    if (x->st != INGOT_OK) {
        if (err) *err = x->err;
        return x->st;
    }
    return INGOT_OK;
}

void ingot_exec_ctx_deinit(exec_ctx *x) {
    if (x->scratch) {
        for (int i = 0; i < x->n_scratch; i++) {
            ingot_free_aligned(x->scratch[i].f32);
            ingot_free_aligned(x->scratch[i].out);
            ingot_free_aligned(x->scratch[i].src);
        }
    }
    ingot_free(x->scratch);
    ingot_free(x->run);
    ingot_free(x->run_first);
    pthread_mutex_destroy(&x->mu);
}

ingot_status ingot_exec_ctx_init(exec_ctx *x, exec_item *items, size_t n_items, int n_threads, ingot_err *err) {
    pthread_mutex_init(&x->mu, NULL);
    x->items = items;
    x->n_items = n_items;
    x->n_scratch = n_threads > 0 ? n_threads : 1;
    x->scratch = ingot_calloc((size_t)x->n_scratch, sizeof *x->scratch);
    x->run = ingot_malloc((n_items + 1) * sizeof *x->run);
    x->run_first = ingot_malloc((n_items + 1) * sizeof *x->run_first);
    INGOT_FAIL_IF(!x->scratch || !x->run || !x->run_first, err, INGOT_E_NOMEM, "out of memory");
    x->n_total = n_items;
    for (size_t i = 0; i < n_items; i++) {
        const uint64_t f = ingot_exec_item_f32_need(&items[i]), o = ingot_exec_item_out_need(&items[i]);
        if (f > x->f32_need) x->f32_need = f;
        if (o > x->out_need) x->out_need = o;
        const bool bands = items[i].mode == EXEC_ROWS || items[i].mode == EXEC_R32;
        const uint64_t es = ingot_dtype_get(items[i].mt->src_dtype)->type_size;
        const uint64_t sb = bands ? items[i].unit_rows * items[i].cols * es : COPY_PIECE;
        if (sb > x->src_need) x->src_need = sb;
        x->bytes_total += items[i].mt->src_bytes;
    }
    x->t0 = now_s();
    return INGOT_OK;
}
