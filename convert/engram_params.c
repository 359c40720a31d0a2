// Engram parameters built at conversion time: the Hugging Face config keys of
// both dialects, numpy's SeedSequence → PCG64 → bounded-integer stream for the
// hash multipliers, the prime table sizes with one shared `seen` set, the
// row offsets, and their serialisation as the metadata `engram` object.
//
// References: numpy/random/bit_generator.pyx (SeedSequence),
// numpy/random/src/pcg64 (XSL-RR 128/64), numpy/random/src/distributions
// (bounded_lemire_uint64); docs/ENGRAM.md for the procedure.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ingot/common.h"
#include "ingot/engram.h"

// ---- numpy SeedSequence -----------------------------------------------------

#define SS_INIT_A 0x43b0d7e5u
#define SS_MULT_A 0x931e8875u
#define SS_INIT_B 0x8b51f9ddu
#define SS_MULT_B 0x58f38dedu
#define SS_MIX_L 0xca01f9ddu
#define SS_MIX_R 0x4973f715u
#define SS_POOL 4

static uint32_t ss_hashmix(uint32_t v, uint32_t *hc) {
    v ^= *hc;
    *hc *= SS_MULT_A;
    v *= *hc;
    v ^= v >> 16;
    return v;
}

static uint32_t ss_mix(uint32_t x, uint32_t y) {
    uint32_t r = SS_MIX_L * x - SS_MIX_R * y;
    r ^= r >> 16;
    return r;
}

void ingot_engram_seed_sequence(uint64_t seed, uint64_t words[4]) {
    uint32_t entropy[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const size_t n_entropy = (seed >> 32) ? 2 : 1;
    uint32_t pool[SS_POOL];
    uint32_t hc = SS_INIT_A;
    for (size_t i = 0; i < SS_POOL; i++) pool[i] = ss_hashmix(i < n_entropy ? entropy[i] : 0, &hc);
    for (size_t src = 0; src < SS_POOL; src++)
        for (size_t dst = 0; dst < SS_POOL; dst++)
            if (src != dst) pool[dst] = ss_mix(pool[dst], ss_hashmix(pool[src], &hc));
    uint32_t hb = SS_INIT_B;
    uint32_t w[8];
    for (size_t i = 0; i < 8; i++) {
        uint32_t v = pool[i % SS_POOL];
        v ^= hb;
        hb *= SS_MULT_B;
        v *= hb;
        v ^= v >> 16;
        w[i] = v;
    }
    for (size_t j = 0; j < 4; j++) words[j] = (uint64_t)w[2 * j] | (uint64_t)w[2 * j + 1] << 32;
}

// ---- PCG64 (XSL-RR 128/64) ------------------------------------------------

typedef unsigned __int128 u128;

typedef struct pcg64 {
    u128 state, inc;
} pcg64;

static u128 pcg_mult(void) { return (u128)0x2360ED051FC65DA4ull << 64 | 0x4385DF649FCCF645ull; }

static void pcg_step(pcg64 *g) { g->state = g->state * pcg_mult() + g->inc; }

static uint64_t pcg_next(pcg64 *g) {
    pcg_step(g);
    const uint64_t x = (uint64_t)(g->state >> 64) ^ (uint64_t)g->state;
    const unsigned rot = (unsigned)(g->state >> 122);
    return (x >> rot) | (x << ((64 - rot) & 63));
}

static void pcg_seed(pcg64 *g, uint64_t seed) {
    uint64_t u[4];
    ingot_engram_seed_sequence(seed, u);
    const u128 initstate = (u128)u[0] << 64 | u[1];
    const u128 initseq = (u128)u[2] << 64 | u[3];
    g->state = 0;
    g->inc = initseq << 1 | 1;
    pcg_step(g);
    g->state += initstate;
    pcg_step(g);
}

void ingot_engram_pcg64_seeded(uint64_t seed, uint64_t state[2], uint64_t inc[2], uint64_t first[4]) {
    pcg64 g;
    pcg_seed(&g, seed);
    state[0] = (uint64_t)(g.state >> 64);
    state[1] = (uint64_t)g.state;
    inc[0] = (uint64_t)(g.inc >> 64);
    inc[1] = (uint64_t)g.inc;
    for (int i = 0; i < 4; i++) first[i] = pcg_next(&g);
}

// Lemire's bounded draw in [0, range_excl) as numpy's 64-bit path does it.
static uint64_t bounded_lemire(pcg64 *g, uint64_t range_excl) {
    u128 m = (u128)pcg_next(g) * range_excl;
    uint64_t lo = (uint64_t)m;
    if (lo < range_excl) {
        const uint64_t thr = (0 - range_excl) % range_excl;
        while (lo < thr) {
            m = (u128)pcg_next(g) * range_excl;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void ingot_engram_numpy_integers(uint64_t seed, uint64_t high, size_t n, uint64_t *out) {
    pcg64 g;
    pcg_seed(&g, seed);
    for (size_t i = 0; i < n; i++) out[i] = high <= 1 ? 0 : bounded_lemire(&g, high);
}

// ---- primes ---------------------------------------------------------------

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) { return (uint64_t)((u128)a * b % m); }

static uint64_t powmod(uint64_t a, uint64_t e, uint64_t m) {
    uint64_t r = 1;
    a %= m;
    while (e) {
        if (e & 1) r = mulmod(r, a, m);
        a = mulmod(a, a, m);
        e >>= 1;
    }
    return r;
}

// Deterministic Miller-Rabin for all 64-bit n (bases: first 12 primes).
static bool is_prime(uint64_t n) {
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2) return false;
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
        if (n == bases[i]) return true;
        if (n % bases[i] == 0) return false;
    }
    uint64_t d = n - 1;
    int s = 0;
    while (!(d & 1)) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
        uint64_t x = powmod(bases[i], d, n);
        if (x == 1 || x == n - 1) continue;
        bool composite = true;
        for (int r = 1; r < s; r++) {
            x = mulmod(x, x, n);
            if (x == n - 1) {
                composite = false;
                break;
            }
        }
        if (composite) return false;
    }
    return true;
}

uint64_t ingot_engram_next_prime(uint64_t start) {
    uint64_t p = start + 1;
    while (!is_prime(p)) p++;
    return p;
}

// ---- config.json ------------------------------------------------------------

static const cJSON *key_any(const cJSON *root, const char *const *names) {
    for (size_t i = 0; names[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, names[i]);
        if (v && !cJSON_IsNull(v)) return v;
    }
    return NULL;
}

// A non-negative integer value exactly representable in a double.
static bool json_u64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    const double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d)) return false;
    *out = (uint64_t)d;
    return true;
}

static bool json_i64(const cJSON *v, int64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    const double d = v->valuedouble;
    if (!(d >= -9007199254740992.0) || d > 9007199254740992.0 || d != floor(d)) return false;
    *out = (int64_t)d;
    return true;
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static ingot_status cfg_u32(const cJSON *root, const char *const *names, bool required, uint32_t dflt, uint32_t *out,
                            ingot_err *err) {
    const cJSON *v = key_any(root, names);
    uint64_t u = dflt;
    INGOT_FAIL_IF(!v && required, err, INGOT_E_FORMAT, "config.json: engram key '%s' is missing", names[0]);
    INGOT_FAIL_IF(v && (!json_u64(v, &u) || u > UINT32_MAX), err, INGOT_E_FORMAT,
                  "config.json: '%s' is not a non-negative integer", names[0]);
    *out = (uint32_t)u;
    return INGOT_OK;
}

static ingot_status cfg_layers(const cJSON *ids, ingot_engram_config *c, ingot_err *err) {
    INGOT_FAIL_IF(!cJSON_IsArray(ids), err, INGOT_E_FORMAT, "config.json: engram_layer_ids is not an array");
    const int n = cJSON_GetArraySize(ids);
    INGOT_FAIL_IF(n < 1, err, INGOT_E_FORMAT, "config.json: engram_layer_ids is empty");
    INGOT_FAIL_IF(n > INGOT_ENGRAM_MAX_LAYERS, err, INGOT_E_LIMIT, "config.json: %d engram layers, at most %d", n,
                  INGOT_ENGRAM_MAX_LAYERS);
    for (int i = 0; i < n; i++) {
        uint64_t u;
        INGOT_FAIL_IF(!json_u64(cJSON_GetArrayItem(ids, i), &u) || u > INT32_MAX, err, INGOT_E_FORMAT,
                      "config.json: engram_layer_ids[%d] is not a layer index", i);
        for (int j = 0; j < i; j++)
            INGOT_FAIL_IF(c->layer_ids[j] == (int32_t)u, err, INGOT_E_FORMAT,
                          "config.json: engram_layer_ids lists layer %llu twice", (unsigned long long)u);
        c->layer_ids[i] = (int32_t)u;
    }
    c->n_layers = (uint32_t)n;
    return INGOT_OK;
}

// engram_vocab_size: one number for all orders, or one per order.
static ingot_status cfg_bases(const cJSON *v, ingot_engram_config *c, ingot_err *err) {
    const uint32_t n_orders = c->max_ngram - 1;
    INGOT_FAIL_IF(!v, err, INGOT_E_FORMAT, "config.json: engram_vocab_size is missing");
    if (cJSON_IsArray(v)) {
        INGOT_FAIL_IF((uint32_t)cJSON_GetArraySize(v) != n_orders, err, INGOT_E_FORMAT,
                      "config.json: engram_vocab_size has %d entries, want %u (orders 2..%u)", cJSON_GetArraySize(v),
                      n_orders, c->max_ngram);
        for (uint32_t i = 0; i < n_orders; i++)
            INGOT_FAIL_IF(!json_u64(cJSON_GetArrayItem(v, (int)i), &c->base[i]) || c->base[i] < 2, err,
                          INGOT_E_FORMAT, "config.json: engram_vocab_size[%u] is not an integer ≥ 2", i);
        return INGOT_OK;
    }
    uint64_t b;
    INGOT_FAIL_IF(!json_u64(v, &b) || b < 2, err, INGOT_E_FORMAT, "config.json: engram_vocab_size is not an integer ≥ 2");
    for (uint32_t i = 0; i < n_orders; i++) c->base[i] = b;
    return INGOT_OK;
}

static ingot_status cfg_num_embeddings(const cJSON *v, ingot_engram_config *c, ingot_err *err) {
    if (!v) return INGOT_OK;
    INGOT_FAIL_IF(!cJSON_IsArray(v) || (uint32_t)cJSON_GetArraySize(v) != c->n_layers, err, INGOT_E_FORMAT,
                  "config.json: engram_num_embeddings must list one row count per engram layer (%u)", c->n_layers);
    for (uint32_t i = 0; i < c->n_layers; i++)
        INGOT_FAIL_IF(!json_u64(cJSON_GetArrayItem(v, (int)i), &c->num_embeddings[i]), err, INGOT_E_FORMAT,
                      "config.json: engram_num_embeddings[%u] is not an integer", i);
    return INGOT_OK;
}

static ingot_status cfg_variant(const cJSON *root, ingot_engram_config *c, ingot_err *err) {
    const cJSON *var = cJSON_GetObjectItemCaseSensitive(root, "engram_variant");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    c->variant = INGOT_ENGRAM_DEMO;
    if (cJSON_GetObjectItemCaseSensitive(root, "engram_head_dim") ||
        cJSON_GetObjectItemCaseSensitive(root, "engram_n_heads"))
        c->variant = INGOT_ENGRAM_V41;
    if (cJSON_IsString(mt) && strncmp(mt->valuestring, "deepseek_v4", 11) == 0) c->variant = INGOT_ENGRAM_V41;
    if (!var) return INGOT_OK;
    INGOT_FAIL_IF(!cJSON_IsString(var), err, INGOT_E_FORMAT, "config.json: engram_variant is not a string");
    if (!strcmp(var->valuestring, "demo") || !strcmp(var->valuestring, "paper"))
        c->variant = INGOT_ENGRAM_DEMO;
    else if (!strcmp(var->valuestring, "v4.1") || !strcmp(var->valuestring, "deepseek_v4.1"))
        c->variant = INGOT_ENGRAM_V41;
    else
        return ingot_err_set(err, INGOT_E_UNSUPPORTED, "config.json: engram_variant '%s' is not known (demo, v4.1)",
                             var->valuestring);
    return INGOT_OK;
}

static ingot_status cfg_shapes(const cJSON *root, ingot_engram_config *c, ingot_err *err) {
    INGOT_FORWARD_IF_ERROR(cfg_u32(root, NAMES("engram_max_ngram_size"), true, 0, &c->max_ngram, err));
    INGOT_FAIL_IF(c->max_ngram < 2 || c->max_ngram > INGOT_ENGRAM_MAX_NGRAM, err, INGOT_E_LIMIT,
                  "config.json: engram_max_ngram_size %u is outside [2, %d]", c->max_ngram, INGOT_ENGRAM_MAX_NGRAM);
    INGOT_FORWARD_IF_ERROR(
        cfg_u32(root, NAMES("engram_n_head_per_ngram", "engram_n_heads"), true, 0, &c->n_head, err));
    INGOT_FAIL_IF(c->n_head < 1 || (c->max_ngram - 1) * c->n_head > INGOT_ENGRAM_MAX_COLS, err, INGOT_E_LIMIT,
                  "config.json: %u engram heads per order × %u orders exceed %d columns", c->n_head,
                  c->max_ngram - 1, INGOT_ENGRAM_MAX_COLS);
    if (c->variant == INGOT_ENGRAM_V41) {
        INGOT_FORWARD_IF_ERROR(cfg_u32(root, NAMES("engram_head_dim"), true, 0, &c->d_h, err));
    } else {
        uint32_t per_ngram = 0;
        INGOT_FORWARD_IF_ERROR(cfg_u32(root, NAMES("engram_n_embed_per_ngram"), true, 0, &per_ngram, err));
        INGOT_FAIL_IF(per_ngram % c->n_head, err, INGOT_E_FORMAT,
                      "config.json: engram_n_embed_per_ngram %u is not a multiple of %u heads", per_ngram, c->n_head);
        c->d_h = per_ngram / c->n_head;
    }
    INGOT_FAIL_IF(c->d_h < 1, err, INGOT_E_FORMAT, "config.json: engram row width is 0");
    uint32_t dflt_k = c->variant == INGOT_ENGRAM_V41 ? 0 : 4;
    INGOT_FORWARD_IF_ERROR(cfg_u32(root, NAMES("engram_kernel_size"), false, dflt_k, &c->kernel_size, err));
    INGOT_FORWARD_IF_ERROR(cfg_u32(root, NAMES("hc_mult"), false, 1, &c->hc_mult, err));
    INGOT_FAIL_IF(c->hc_mult < 1 || c->hc_mult > INGOT_ENGRAM_MAX_HC, err, INGOT_E_LIMIT,
                  "config.json: hc_mult %u is outside [1, %d]", c->hc_mult, INGOT_ENGRAM_MAX_HC);
    INGOT_FORWARD_IF_ERROR(cfg_u32(root, NAMES("hidden_size"), true, 0, &c->d_model, err));
    INGOT_FAIL_IF(c->d_model < 1, err, INGOT_E_FORMAT, "config.json: hidden_size is 0");
    return INGOT_OK;
}

static ingot_status cfg_ids(const cJSON *root, ingot_engram_config *c, ingot_err *err) {
    const cJSON *pad = key_any(root, NAMES("engram_pad_id", "engram_pad_token_id"));
    c->pad_id = 2;
    INGOT_FAIL_IF(pad && (!json_i64(pad, &c->pad_id) || c->pad_id < 0), err, INGOT_E_FORMAT,
                  "config.json: engram_pad_id is not a token id");
    const cJSON *seed = key_any(root, NAMES("engram_seed"));
    c->seed = 0;
    INGOT_FAIL_IF(seed && (!json_i64(seed, &c->seed) || c->seed < 0), err, INGOT_E_FORMAT,
                  "config.json: engram_seed is not a non-negative integer");
    const cJSON *cv = key_any(root, NAMES("engram_compressed_vocab_size"));
    c->compressed_vocab = -1;
    INGOT_FAIL_IF(cv && (!json_i64(cv, &c->compressed_vocab) || c->compressed_vocab < 1), err, INGOT_E_FORMAT,
                  "config.json: engram_compressed_vocab_size is not a positive integer");
    const cJSON *eps = key_any(root, NAMES("rms_norm_eps"));
    c->norm_eps = cJSON_IsNumber(eps) ? eps->valuedouble : 1e-6;
    return INGOT_OK;
}

ingot_status ingot_engram_config_parse(const char *json, size_t n, ingot_engram_config *out, bool *present,
                                       ingot_err *err) {
    INGOT_FAIL_IF(!json || !out || !present, err, INGOT_E_ARG, "engram config: NULL argument");
    memset(out, 0, sizeof *out);
    *present = false;
    cJSON *root = cJSON_ParseWithLength(json, n);
    INGOT_FAIL_IF(!root, err, INGOT_E_FORMAT, "config.json: not valid JSON");
    ingot_status st = INGOT_OK;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "engram_layer_ids");
    if (!ids || cJSON_IsNull(ids)) goto done;
    *present = true;
    if ((st = cfg_variant(root, out, err)) != INGOT_OK) goto done;
    if ((st = cfg_layers(ids, out, err)) != INGOT_OK) goto done;
    if ((st = cfg_shapes(root, out, err)) != INGOT_OK) goto done;
    if ((st = cfg_bases(key_any(root, NAMES("engram_vocab_size")), out, err)) != INGOT_OK) goto done;
    if ((st = cfg_num_embeddings(key_any(root, NAMES("engram_num_embeddings")), out, err)) != INGOT_OK) goto done;
    st = cfg_ids(root, out, err);
done:
    cJSON_Delete(root);
    if (st != INGOT_OK) {
        memset(out, 0, sizeof *out);
        *present = false;
    }
    return st;
}

// ---- derived parameters -----------------------------------------------------

// The shared `seen` set: all primes handed out so far (a short list; the
// total is (N-1)·H·layers ≤ MAX_COLS·MAX_LAYERS).
typedef struct prime_seen {
    uint64_t p[INGOT_ENGRAM_MAX_COLS * INGOT_ENGRAM_MAX_LAYERS];
    size_t n;
} prime_seen;

static bool seen_has(const prime_seen *s, uint64_t p) {
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i] == p) return true;
    return false;
}

// find_next_prime(start, seen): smallest prime > start not in seen.
static uint64_t next_unseen_prime(uint64_t start, const prime_seen *s) {
    uint64_t p = ingot_engram_next_prime(start);
    while (seen_has(s, p)) p = ingot_engram_next_prime(p);
    return p;
}

static void layer_primes(const ingot_engram_config *c, prime_seen *seen, ingot_engram_layer *L) {
    uint64_t off = 0;
    for (uint32_t n = 2; n <= c->max_ngram; n++) {
        uint64_t cur = c->base[n - 2] - 1;
        for (uint32_t h = 0; h < c->n_head; h++) {
            const uint32_t j = (n - 2) * c->n_head + h;
            const uint64_t p = next_unseen_prime(cur, seen);
            seen->p[seen->n++] = p;
            L->prime[j] = p;
            L->offset[j] = off;
            off += p;
            cur = p;
        }
    }
    L->n_rows = off;
}

static void layer_multipliers(const ingot_engram_config *c, uint64_t compressed_vocab, ingot_engram_layer *L) {
    const uint64_t m_max = (uint64_t)INT64_MAX / compressed_vocab;
    const uint64_t half = m_max / 2 ? m_max / 2 : 1;
    const uint64_t seed = (uint64_t)c->seed + 10007ull * (uint64_t)L->layer;
    uint64_t r[INGOT_ENGRAM_MAX_NGRAM];
    ingot_engram_numpy_integers(seed, half, c->max_ngram, r);
    for (uint32_t k = 0; k < c->max_ngram; k++) L->mult[k] = 2 * r[k] + 1;
}

static void params_header(const ingot_engram_config *c, uint64_t vocab, uint64_t compressed_vocab,
                          uint64_t pad_compressed, ingot_engram_params *p) {
    p->variant = c->variant;
    p->max_ngram = c->max_ngram;
    p->n_head = c->n_head;
    p->d_h = c->d_h;
    p->d_model = c->d_model;
    p->hc_mult = c->hc_mult;
    p->kernel_size = c->kernel_size;
    p->dilation = c->kernel_size ? c->max_ngram : 0;
    p->vocab = vocab;
    p->compressed_vocab = compressed_vocab;
    p->pad_id = c->pad_id;
    p->pad_compressed = pad_compressed;
    // Demo: RMSNorm(eps=None) in fp32 is FLT_EPSILON; V4.1 ports use rms_norm_eps.
    p->gate_eps = c->variant == INGOT_ENGRAM_V41 ? (float)c->norm_eps : 0x1p-23f;
    p->conv_eps = 1e-5f;
    p->sign_zero_positive = c->variant == INGOT_ENGRAM_V41;
    p->seed = c->seed;
    for (uint32_t n = 2; n <= c->max_ngram; n++) p->base[n - 2] = c->base[n - 2];
    p->n_layers = c->n_layers;
}

ingot_status ingot_engram_params_build(const ingot_engram_config *c, uint64_t vocab, uint64_t compressed_vocab,
                                       uint64_t pad_compressed, ingot_engram_params *out, ingot_err *err) {
    INGOT_FAIL_IF(!c || !out, err, INGOT_E_ARG, "engram params: NULL argument");
    INGOT_FAIL_IF(compressed_vocab < 1 || compressed_vocab > (1ull << 30), err, INGOT_E_UNSUPPORTED,
                  "engram: compressed vocabulary %llu is outside [1, 2^30]", (unsigned long long)compressed_vocab);
    INGOT_FAIL_IF(pad_compressed >= compressed_vocab, err, INGOT_E_ARG, "engram: compressed pad id out of range");
    memset(out, 0, sizeof *out);
    params_header(c, vocab, compressed_vocab, pad_compressed, out);
    prime_seen *seen = ingot_calloc(1, sizeof *seen);
    INGOT_FAIL_IF(!seen, err, INGOT_E_NOMEM, "engram: out of memory");
    for (uint32_t i = 0; i < c->n_layers; i++) {
        ingot_engram_layer *L = &out->layers[i];
        L->layer = c->layer_ids[i];
        layer_multipliers(c, compressed_vocab, L);
        layer_primes(c, seen, L);
    }
    ingot_free(seen);
    for (uint32_t i = 0; i < c->n_layers; i++) {
        const uint64_t want = c->num_embeddings[i], got = out->layers[i].n_rows;
        INGOT_FAIL_IF(want && want != got, err, INGOT_E_MISMATCH,
                      "config.json: engram_num_embeddings[%u] = %llu but the prime procedure gives %llu rows for "
                      "layer %d",
                      i, (unsigned long long)want, (unsigned long long)got, out->layers[i].layer);
    }
    return INGOT_OK;
}

// ---- metadata JSON -----------------------------------------------------------

static cJSON *u64_array(const uint64_t *v, size_t n, bool as_string) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v[i]);
        cJSON *item = as_string ? cJSON_CreateString(buf) : cJSON_CreateNumber((double)v[i]);
        if (!item || !cJSON_AddItemToArray(a, item)) {
            cJSON_Delete(item);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static bool add_layer(cJSON *layers, const ingot_engram_params *p, const ingot_engram_layer *L) {
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(layers, o)) {
        cJSON_Delete(o);
        return false;
    }
    const size_t cols = ingot_engram_n_cols(p);
    bool ok = cJSON_AddNumberToObject(o, "layer", L->layer) != NULL;
    // Multipliers reach 2^63: strings keep every digit (JSON numbers are doubles).
    cJSON *m = u64_array(L->mult, p->max_ngram, true);
    ok = ok && m && cJSON_AddItemToObject(o, "multipliers", m);
    if (!ok) return false;
    cJSON *pr = u64_array(L->prime, cols, false);
    ok = pr && cJSON_AddItemToObject(o, "primes", pr);
    cJSON *of = ok ? u64_array(L->offset, cols, false) : NULL;
    ok = ok && of && cJSON_AddItemToObject(o, "offsets", of);
    return ok && cJSON_AddNumberToObject(o, "n_rows", (double)L->n_rows);
}

static bool add_header(cJSON *o, const ingot_engram_params *p) {
    return cJSON_AddStringToObject(o, "variant", p->variant == INGOT_ENGRAM_V41 ? "v4.1" : "demo") &&
           cJSON_AddNumberToObject(o, "max_ngram", p->max_ngram) && cJSON_AddNumberToObject(o, "n_head", p->n_head) &&
           cJSON_AddNumberToObject(o, "d_h", p->d_h) && cJSON_AddNumberToObject(o, "d_model", p->d_model) &&
           cJSON_AddNumberToObject(o, "hc_mult", p->hc_mult) &&
           cJSON_AddNumberToObject(o, "kernel_size", p->kernel_size) &&
           cJSON_AddNumberToObject(o, "dilation", p->dilation) &&
           cJSON_AddNumberToObject(o, "vocab", (double)p->vocab) &&
           cJSON_AddNumberToObject(o, "compressed_vocab", (double)p->compressed_vocab) &&
           cJSON_AddNumberToObject(o, "pad_id", (double)p->pad_id) &&
           cJSON_AddNumberToObject(o, "pad_compressed", (double)p->pad_compressed) &&
           cJSON_AddNumberToObject(o, "gate_eps", p->gate_eps) && cJSON_AddNumberToObject(o, "conv_eps", p->conv_eps) &&
           cJSON_AddBoolToObject(o, "sign_zero_positive", p->sign_zero_positive) &&
           cJSON_AddStringToObject(o, "compress_blob", "engram.compress") &&
           // What the derived numbers came from, so a verifier can recompute
           // the multipliers and primes and compare.
           cJSON_AddNumberToObject(o, "seed", (double)p->seed) &&
           cJSON_AddItemToObject(o, "base_sizes", u64_array(p->base, p->max_ngram - 1, false));
}

ingot_status ingot_engram_params_to_json(const ingot_engram_params *p, char **out, ingot_err *err) {
    INGOT_FAIL_IF(!p || !out, err, INGOT_E_ARG, "engram params: NULL argument");
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    bool ok = o && add_header(o, p);
    cJSON *layers = ok ? cJSON_AddArrayToObject(o, "layers") : NULL;
    ok = ok && layers;
    for (uint32_t i = 0; ok && i < p->n_layers; i++) ok = add_layer(layers, p, &p->layers[i]);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    INGOT_FAIL_IF(!text, err, INGOT_E_NOMEM, "engram: out of memory writing metadata");
    *out = ingot_strdup(text);
    cJSON_free(text);
    INGOT_FAIL_IF(!*out, err, INGOT_E_NOMEM, "engram: out of memory writing metadata");
    return INGOT_OK;
}
