// Internals of the data phase (convert_exec.c), used by convert_run.c.
#ifndef INGOT_CONVERT_EXEC_H
#define INGOT_CONVERT_EXEC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "convert_internal.h"
#include "ingot/container.h"

typedef enum exec_mode {
    EXEC_COPY = 0,  // source bytes as they are, in byte-range units
    EXEC_B128 = 1,  // FP8 bytes copied, then the block scales as f32 (last unit)
    EXEC_ROWS = 2,  // row bands decoded to f32 and encoded to the target type
    EXEC_R32 = 3,   // row bands of FP8 bytes interleaved with their E8M0 row scales (f8_e4m3_r32)
} exec_mode;

typedef struct exec_item {
    const ingot_desc_tensor *mt;
    ingot_dtype type;          // output type
    size_t widx;               // writer tensor index
    uint64_t rows, cols;       // cols = last dim
    uint64_t out_row_bytes;    // EXEC_ROWS: bytes of one encoded row
    exec_mode mode;
    uint64_t unit_rows;        // EXEC_ROWS: rows per unit
    uint64_t unit_bytes;       // EXEC_COPY / EXEC_B128: bytes per copy unit
    uint64_t n_units;
    uint64_t left;             // units not yet done (under the context mutex)
    const float *imatrix;      // [cols] importance, or NULL
    ingot_convert_source src;  // set before the item runs
    int fd;                    // source file read with pread, or -1 (then src.data is used)
    uint64_t file_off;         // byte offset of the item's data in that file
    const char *path;          // that file's name, for messages
    ingot_convert_nonfinite nf;
} exec_item;

typedef struct exec_scratch {
    float *f32;                // [f32_need]
    uint8_t *out;              // [out_need]
    uint8_t *src;              // [src_need] source bytes of one band (pread path)
} exec_scratch;

typedef struct exec_ctx {
    ingot_writer *w;
    exec_item *items;
    size_t n_items;
    size_t *run;               // items of the current batch
    uint64_t *run_first;       // first unit of each batch entry
    size_t n_run;
    exec_scratch *scratch;     // one per pool worker
    int n_scratch;
    uint64_t f32_need, out_need, src_need;
    bool release;              // drop source pages after each unit (mapped sources)
    pthread_mutex_t mu;
    ingot_status st;           // first failure
    ingot_err err;
    atomic_bool abort;
    size_t n_done, n_total;
    uint64_t bytes_done, bytes_total;
    double t0;
    ingot_convert_progress_fn progress;
    void *progress_user;
} exec_ctx;

ingot_status ingot_exec_item_init(exec_item *it, const ingot_desc_tensor *mt, ingot_scale_kind kind, ingot_dtype type,
                                  size_t widx, ingot_err *err);
uint64_t ingot_exec_item_f32_need(const exec_item *it);
uint64_t ingot_exec_item_out_need(const exec_item *it);
ingot_status ingot_exec_ctx_init(exec_ctx *x, exec_item *items, size_t n_items, int n_threads, ingot_err *err);
void ingot_exec_ctx_deinit(exec_ctx *x);
ingot_status ingot_exec_run_batch(exec_ctx *x, ingot_pool *pool, ingot_err *err);

#endif
