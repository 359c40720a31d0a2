// Engram: numpy RNG vectors, primes, hashing, tokenizer compression,
// metadata round trip, the forward of one layer, and the reference fixture
// ../shared/fixtures/engram/qwen3_moe_engram (compression map, row indices,
// every intermediate of the Engram layer).
#include <cjson/cJSON.h>
#include <stdint.h>

#include "ingot/common.h"
#include "ingot/engram.h"
#include "ingot/quantize.h"
#include "ingot/tokenizer.h"
#include "ingot/safetensors.h"
#include "ingot_test.h"

// ---- helpers ------------------------------------------------------------------

static int parse_cfg(const char *json, ingot_engram_config *c) {
    ingot_err err = {0};
    bool present = false;
    CHECK_OK(ingot_engram_config_parse(json, strlen(json), c, &present, &err), &err);
    CHECK(present);
    return 0;
}

// The toy configuration of the worked hashing example (identity compression).
static const char *k_toy_cfg = "{\"engram_layer_ids\":[1,4],\"engram_max_ngram_size\":3,"
                               "\"engram_n_head_per_ngram\":2,\"engram_n_embed_per_ngram\":8,"
                               "\"engram_vocab_size\":[200,300],\"engram_pad_id\":2,\"engram_seed\":42,"
                               "\"engram_kernel_size\":4,\"hc_mult\":2,\"hidden_size\":8}";

static int toy_params(ingot_engram_params *p, int32_t *lookup) {
    ingot_engram_config c;
    if (parse_cfg(k_toy_cfg, &c)) return 1;
    ingot_err err = {0};
    CHECK_OK(ingot_engram_params_build(&c, 1000, 1000, 2, p, &err), &err);
    for (int i = 0; i < 1000; i++) lookup[i] = i;
    return 0;
}

// ---- RNG, primes, multipliers ----------------------------------------------------

static int test_engram_rng_vectors(void) {
    static const struct {
        uint64_t seed, ss[4], state[2], inc[2], out[4];
    } v[] = {
        {10007,
         {0x77d32a348ad70d07ull, 0x993ed609b84a4fa5ull, 0xd5f972dec8698e49ull, 0x7d79ebaebcf148deull},
         {0x3b34af7676e8ddd5ull, 0x556a026c98a77d27ull},
         {0xabf2e5bd90d31c92ull, 0xfaf3d75d79e291bdull},
         {15187255322829266483ull, 959186003677246517ull, 7126631698937927467ull, 14663106486854050627ull}},
        {140098,
         {0xdb5869feeeccf2beull, 0xad465727d9cf3645ull, 0x5155d26378b6bab4ull, 0x9f9e49df66ff1c85ull},
         {0x081481950b65ad0cull, 0x830c0440d514199bull},
         {0xa2aba4c6f16d7569ull, 0x3f3c93becdfe390bull},
         {13420388419549774097ull, 10208617735032736636ull, 6128116274024149523ull, 16373808781820707998ull}},
        {10049,
         {0xed751bee1c3a5224ull, 0x211f7138296c5f65ull, 0x4b587d830b8ea1e0ull, 0x5286b2e1a7af6cc6ull},
         {0xc864ef692a3ea512ull, 0xc7da8475d5b5bec7ull},
         {0x96b0fb06171d43c0ull, 0xa50d65c34f5ed98dull},
         {9963831550770084434ull, 11290478108860237496ull, 15651273599711778355ull, 6005423684901801692ull}},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        uint64_t w[4], st[2], inc[2], out[4];
        ingot_engram_seed_sequence(v[i].seed, w);
        for (int j = 0; j < 4; j++) CHECK_EQ_U64(w[j], v[i].ss[j]);
        ingot_engram_pcg64_seeded(v[i].seed, st, inc, out);
        for (int j = 0; j < 2; j++) CHECK_EQ_U64(st[j], v[i].state[j]);
        for (int j = 0; j < 2; j++) CHECK_EQ_U64(inc[j], v[i].inc[j]);
        for (int j = 0; j < 4; j++) CHECK_EQ_U64(out[j], v[i].out[j]);
    }
    // Bounded draws: V4.1 L=1 r[0], and the toy layer 1 (seed 42 + 10007).
    uint64_t r[3];
    ingot_engram_numpy_integers(10007, 46539438283891ull, 1, r);
    CHECK_EQ_U64(r[0], 38316048023122ull);
    ingot_engram_numpy_integers(10049, 4611686018427387ull, 3, r);
    CHECK_EQ_U64(r[0], 2490957887692520ull);
    CHECK_EQ_U64(r[1], 2822619527215058ull);
    CHECK_EQ_U64(r[2], 3912818399927943ull);
    return 0;
}

static int test_engram_next_prime(void) {
    CHECK_EQ_U64(ingot_engram_next_prime(0), 2);
    CHECK_EQ_U64(ingot_engram_next_prime(2), 3);
    CHECK_EQ_U64(ingot_engram_next_prime(199), 211);
    CHECK_EQ_U64(ingot_engram_next_prime(15999999), 16000057);
    // Around 2^61: 2^61-1 is a Mersenne prime.
    CHECK_EQ_U64(ingot_engram_next_prime((1ull << 61) - 2), (1ull << 61) - 1);
    // A strong pseudoprime to bases 2..11 (3215031751) must be skipped.
    CHECK(ingot_engram_next_prime(3215031750ull) != 3215031751ull);
    return 0;
}

static int test_engram_v41_params(void) {
    ingot_engram_config c;
    if (parse_cfg("{\"model_type\":\"deepseek_v4\",\"engram_layer_ids\":[1,14],\"engram_max_ngram_size\":4,"
                  "\"engram_n_heads\":8,\"engram_head_dim\":256,\"engram_vocab_size\":16000000,"
                  "\"engram_num_embeddings\":[384006168,384016682],\"engram_pad_token_id\":2,"
                  "\"engram_compressed_vocab_size\":99092,\"hc_mult\":4,\"hidden_size\":5120,"
                  "\"rms_norm_eps\":1e-6}",
                  &c))
        return 1;
    CHECK_EQ_INT(c.variant, INGOT_ENGRAM_V41);
    CHECK_EQ_INT(c.kernel_size, 0);
    CHECK_EQ_INT(c.d_h, 256);
    CHECK_EQ_INT(c.compressed_vocab, 99092);
    ingot_engram_params p;
    ingot_err err = {0};
    CHECK_OK(ingot_engram_params_build(&c, 129280, 99092, 2, &p, &err), &err);
    static const uint64_t m1[4] = {76632096046245ull, 4839876093313ull, 35959672319349ull, 73987337458391ull};
    static const uint64_t m14[4] = {67716810739261ull, 51510806800915ull, 30921347202721ull, 82619226485591ull};
    for (int k = 0; k < 4; k++) CHECK_EQ_U64(p.layers[0].mult[k], m1[k]);
    for (int k = 0; k < 4; k++) CHECK_EQ_U64(p.layers[1].mult[k], m14[k]);
    static const uint64_t p1[24] = {16000057, 16000079, 16000081, 16000097, 16000121, 16000129, 16000133, 16000183,
                                    16000189, 16000207, 16000211, 16000253, 16000277, 16000289, 16000307, 16000321,
                                    16000339, 16000381, 16000393, 16000399, 16000403, 16000409, 16000447, 16000463};
    static const uint64_t p14[24] = {16000477, 16000487, 16000499, 16000507, 16000511, 16000573, 16000609, 16000627,
                                     16000667, 16000669, 16000693, 16000697, 16000711, 16000729, 16000759, 16000769,
                                     16000781, 16000799, 16000813, 16000819, 16000841, 16000877, 16000879, 16000889};
    for (int j = 0; j < 24; j++) CHECK_EQ_U64(p.layers[0].prime[j], p1[j]);
    for (int j = 0; j < 24; j++) CHECK_EQ_U64(p.layers[1].prime[j], p14[j]);
    CHECK_EQ_U64(p.layers[0].n_rows, 384006168ull);
    CHECK_EQ_U64(p.layers[1].n_rows, 384016682ull);
    CHECK(p.sign_zero_positive);
    // A config whose row counts disagree with the prime procedure is rejected.
    c.num_embeddings[1] = 384016683ull;
    CHECK_STATUS(ingot_engram_params_build(&c, 129280, 99092, 2, &p, &err), INGOT_E_MISMATCH, &err);
    CHECK_STR_CONTAINS(err.msg, "engram_num_embeddings");
    return 0;
}

static int test_engram_demo_primes(void) {
    ingot_engram_config c;
    if (parse_cfg("{\"engram_layer_ids\":[1,15],\"engram_max_ngram_size\":3,\"engram_n_head_per_ngram\":8,"
                  "\"engram_n_embed_per_ngram\":512,\"engram_vocab_size\":[646400,646400],\"hidden_size\":1024,"
                  "\"hc_mult\":4}",
                  &c))
        return 1;
    ingot_engram_params p;
    ingot_err err = {0};
    CHECK_OK(ingot_engram_params_build(&c, 129280, 100000, 2, &p, &err), &err);
    static const uint64_t l1[16] = {646403, 646411, 646421, 646423, 646433, 646453, 646519, 646523,
                                    646537, 646543, 646549, 646571, 646573, 646577, 646609, 646619};
    static const uint64_t l15[16] = {646631, 646637, 646643, 646669, 646687, 646721, 646757, 646771,
                                     646781, 646823, 646831, 646837, 646843, 646859, 646873, 646879};
    for (int j = 0; j < 16; j++) CHECK_EQ_U64(p.layers[0].prime[j], l1[j]);
    for (int j = 0; j < 16; j++) CHECK_EQ_U64(p.layers[1].prime[j], l15[j]);
    CHECK_EQ_U64(p.layers[0].n_rows, 10344164ull);
    CHECK_EQ_U64(p.layers[1].n_rows, 10348242ull);
    CHECK_EQ_INT(p.d_h, 64);
    CHECK_NEAR(p.gate_eps, 1.1920929e-7, 1e-13);
    return 0;
}

// ---- hashing --------------------------------------------------------------------

static int test_engram_toy_hash(void) {
    ingot_engram_params p;
    static int32_t lookup[1000];
    if (toy_params(&p, lookup)) return 1;
    static const uint64_t mult[2][3] = {{4981915775385041ull, 5645239054430117ull, 7825636799855887ull},
                                        {3344759098714707ull, 1482794196697373ull, 7479198928954049ull}};
    static const uint64_t primes[2][4] = {{211, 223, 307, 311}, {227, 229, 313, 317}};
    static const uint64_t offs[2][4] = {{0, 211, 434, 741}, {0, 227, 456, 769}};
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < 3; k++) CHECK_EQ_U64(p.layers[l].mult[k], mult[l][k]);
        for (int j = 0; j < 4; j++) CHECK_EQ_U64(p.layers[l].prime[j], primes[l][j]);
        for (int j = 0; j < 4; j++) CHECK_EQ_U64(p.layers[l].offset[j], offs[l][j]);
    }
    CHECK_EQ_U64(p.layers[0].n_rows, 1052);
    CHECK_EQ_U64(p.layers[1].n_rows, 1086);
    static const int64_t in[2][8] = {{5, 17, 923, 17, 923, 999, 0, 2}, {999, 998, 3, 3, 3, 1, 2, 2}};
    static const uint64_t want[2][2][8][4] = {
        {{{63, 215, 661, 827}, {24, 276, 568, 901}, {21, 366, 550, 904}, {169, 418, 610, 796},
          {21, 366, 638, 841}, {70, 278, 583, 952}, {189, 232, 470, 996}, {69, 244, 519, 830}},
         {{176, 355, 476, 956}, {75, 431, 484, 1005}, {97, 346, 685, 775}, {164, 411, 698, 757},
          {164, 411, 457, 849}, {55, 388, 598, 1026}, {78, 373, 583, 842}, {106, 216, 501, 905}}},
        {{{123, 434, 717, 874}, {0, 454, 543, 865}, {80, 427, 547, 813}, {14, 242, 622, 807},
          {80, 427, 528, 939}, {30, 337, 695, 815}, {207, 239, 662, 789}, {0, 311, 548, 814}},
         {{81, 285, 766, 1048}, {50, 240, 611, 852}, {101, 428, 619, 847}, {170, 294, 555, 1065},
          {170, 294, 550, 1019}, {23, 394, 493, 802}, {185, 267, 624, 794}, {177, 434, 568, 1082}}}};
    ingot_err err = {0};
    for (int l = 0; l < 2; l++) {
        for (int b = 0; b < 2; b++) {
            ingot_engram_state *st = NULL;
            CHECK_OK(ingot_engram_state_create(&p, &st, &err), &err);
            for (int t = 0; t < 8; t++) {
                uint64_t rows[4];
                ingot_engram_state_push(st, &p, &p.layers[l], lookup, NULL, in[b][t], rows);
                for (int j = 0; j < 4; j++) {
                    if (rows[j] != want[l][b][t][j]) {
                        ingot_engram_state_free(st);
                        INGOT_FAILF("layer %d row b%d t%d col %d: %llu != %llu", l, b, t, j,
                                    (unsigned long long)rows[j], (unsigned long long)want[l][b][t][j]);
                    }
                }
            }
            ingot_engram_state_free(st);
        }
    }
    return 0;
}

// ---- compression ----------------------------------------------------------------

static int test_engram_toy_compress(void) {
    // decoded text, raw token string (used when the text holds U+FFFD)
    static const char *tok[][2] = {
        {"<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "x"},
        {"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "x"},
        {"<\xef\xbd\x9c\xe2\x96\x81pad\xe2\x96\x81\xef\xbd\x9c>", "x"},
        {"The", "x"}, {" the", "x"}, {"THE", "x"}, {" ", "x"}, {"\n\n", "x"}, {"  ", "x"},
        {"\xc3\xa9", "x"}, {" e", "x"},
        {"\xef\xbf\xbd", "\xc3\x83"}, {"\xef\xbf\xbd", "\xc3\x84"},
        {"\xef\xbc\xa1pple", "x"}, {" apple", "x"}, {"\xcc\x81", "x"}, {"\xef\xac\x81", "x"}, {"fi", "x"},
        {"\t", "x"}, {"Stra\xc3\x9f" "e", "x"}, {" \xe1\xbc\x88\xce\xb8\xe1\xbf\x86\xce\xbd\xce\xb1\xce\xb9", "x"},
    };
    static const int want[] = {0, 1, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6, 7, 8, 8, 9, 10, 10, 4, 11, 12};
    enum { N = sizeof tok / sizeof *tok };
    char *keys[N];
    size_t lens[N];
    int ids[N], n_ids = 0;
    ingot_err err = {0};
    for (int i = 0; i < N; i++) {
        CHECK_OK(ingot_engram_token_key(tok[i][0], strlen(tok[i][0]), tok[i][1], strlen(tok[i][1]), &keys[i],
                                        &lens[i], &err),
                 &err);
        ids[i] = -1;
        for (int j = 0; j < i && ids[i] < 0; j++)
            if (lens[j] == lens[i] && !memcmp(keys[j], keys[i], lens[i])) ids[i] = ids[j];
        if (ids[i] < 0) ids[i] = n_ids++;
    }
    // Spot-check keys themselves.
    CHECK(!strcmp(keys[3], "the"));
    CHECK(!strcmp(keys[6], " "));
    CHECK(!strcmp(keys[11], "\xc3\x83"));
    CHECK(!strcmp(keys[15], "\xcc\x81"));
    CHECK(!strcmp(keys[19], "stra\xc3\x9f" "e"));
    CHECK(!strcmp(keys[20], "\xce\xb1\xce\xb8\xce\xb7\xce\xbd\xce\xb1\xce\xb9"));
    for (int i = 0; i < N; i++) ingot_free(keys[i]);
    for (int i = 0; i < N; i++) CHECK_EQ_INT(ids[i], want[i]);
    CHECK_EQ_INT(n_ids, 13);
    return 0;
}

static int test_engram_normalize_rules(void) {
    ingot_err err = {0};
    char *o = NULL;
    size_t n = 0;
    // VT and FF are not collapsed (only space/TAB/CR/LF), but Strip removes them at the ends.
    CHECK_OK(ingot_engram_normalize("a\x0b\x0b" "b", 4, &o, &n, &err), &err);
    CHECK(n == 4 && !memcmp(o, "a\x0b\x0b" "b", 4));
    ingot_free(o);
    CHECK_OK(ingot_engram_normalize(" \t\r\n x ", 7, &o, &n, &err), &err);
    CHECK(n == 1 && o[0] == 'x');
    ingot_free(o);
    // An embedded NUL survives (tokens for byte 0 exist).
    CHECK_OK(ingot_engram_normalize("\0", 1, &o, &n, &err), &err);
    CHECK(n == 1 && o[0] == 0);
    ingot_free(o);
    // Invalid UTF-8 is reported, not crashed on.
    CHECK_STATUS(ingot_engram_normalize("\xff", 1, &o, &n, &err), INGOT_E_FORMAT, &err);
    return 0;
}

// ---- metadata -------------------------------------------------------------------

static int test_engram_metadata_roundtrip(void) {
    ingot_engram_params p, q;
    static int32_t lookup[1000];
    if (toy_params(&p, lookup)) return 1;
    ingot_err err = {0};
    char *json = NULL;
    CHECK_OK(ingot_engram_params_to_json(&p, &json, &err), &err);
    const ingot_status st = ingot_engram_params_from_json(json, strlen(json), &q, &err);
    if (st != INGOT_OK) ingot_free(json);
    CHECK_OK(st, &err);
    CHECK(!memcmp(&p, &q, sizeof p));
    // Tampering: an even multiplier, a wrong offset, a bad count.
    static const char *const bad[][2] = {
        {"\"4981915775385041\"", "\"4981915775385042\""},
        {"[0,211,434,741]", "[0,211,435,741]"},
        {"\"n_head\":2", "\"n_head\":3"},
        {"\"max_ngram\":3", "\"max_ngram\":99"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char buf[4096];
        const char *at = strstr(json, bad[i][0]);
        if (!at) {
            ingot_free(json);
            INGOT_FAILF("metadata lacks %s", bad[i][0]);
        }
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - json), json, bad[i][1], at + strlen(bad[i][0]));
        const ingot_status s2 = ingot_engram_params_from_json(buf, strlen(buf), &q, &err);
        if (s2 == INGOT_OK) {
            ingot_free(json);
            INGOT_FAILF("tampered metadata %zu accepted", i);
        }
    }
    // Every truncation fails cleanly.
    const size_t n = strlen(json);
    for (size_t k = 0; k < n; k++)
        if (ingot_engram_params_from_json(json, k, &q, &err) == INGOT_OK) {
            ingot_free(json);
            INGOT_FAILF("truncated metadata (%zu bytes) accepted", k);
        }
    ingot_free(json);
    return 0;
}

static int test_engram_lookup_check(void) {
    ingot_engram_params p;
    static int32_t lookup[1000];
    if (toy_params(&p, lookup)) return 1;
    ingot_err err = {0};
    CHECK_OK(ingot_engram_lookup_check(lookup, sizeof lookup, &p, &err), &err);
    CHECK_STATUS(ingot_engram_lookup_check(lookup, sizeof lookup - 4, &p, &err), INGOT_E_FORMAT, &err);
    lookup[500] = 999; // not first-occurrence order
    CHECK_STATUS(ingot_engram_lookup_check(lookup, sizeof lookup, &p, &err), INGOT_E_FORMAT, &err);
    lookup[500] = 500;
    // Out-of-range raw ids clip instead of reading outside the map.
    CHECK_EQ_U64(ingot_engram_compress_id(lookup, 1000, 5000), 999);
    CHECK_EQ_U64(ingot_engram_compress_id(lookup, 1000, -3), 0);
    return 0;
}

// ---- forward ----------------------------------------------------------------------

// The toy forward example: parameter k (ASCII-sorted names) element i is
// ((37 i + 11 k) mod 101 - 50) / 256.
static void toy_fill(float *dst, size_t n, int k) {
    for (size_t i = 0; i < n; i++) dst[i] = (float)((long)((37 * i + 11 * (size_t)k) % 101) - 50) / 256.0f;
}

typedef struct toy_weights {
    float kb[2][8], kw[2][8 * 16], table[1052 * 4], n1[2][8], n2[2][8], conv[16 * 4], cn[2][8], vb[8], vw[8 * 16];
} toy_weights;

static void toy_bind(toy_weights *tw, ingot_engram_weights *w) {
    toy_fill(tw->kb[0], 8, 0);
    toy_fill(tw->kw[0], 128, 1);
    toy_fill(tw->kb[1], 8, 2);
    toy_fill(tw->kw[1], 128, 3);
    toy_fill(tw->table, 1052 * 4, 4);
    toy_fill(tw->n1[0], 8, 5);
    toy_fill(tw->n1[1], 8, 6);
    toy_fill(tw->n2[0], 8, 7);
    toy_fill(tw->n2[1], 8, 8);
    toy_fill(tw->conv, 64, 9);
    toy_fill(tw->cn[0], 8, 10);
    toy_fill(tw->cn[1], 8, 11);
    toy_fill(tw->vb, 8, 12);
    toy_fill(tw->vw, 128, 13);
    memset(w, 0, sizeof *w);
    w->table_dtype = INGOT_DTYPE_F32;
    w->table = (const uint8_t *)tw->table;
    w->table_rows = 1052;
    w->value = (ingot_engram_linear){INGOT_DTYPE_F32, tw->vw, tw->vb, 8, 16};
    for (int m = 0; m < 2; m++) {
        w->key[m] = (ingot_engram_linear){INGOT_DTYPE_F32, tw->kw[m], tw->kb[m], 8, 16};
        w->key_norm[m] = tw->n1[m];
        w->query_norm[m] = tw->n2[m];
        w->conv_norm[m] = tw->cn[m];
    }
    w->conv_w = tw->conv;
}

static int test_engram_forward_toy(void) {
    ingot_engram_params p;
    static int32_t lookup[1000];
    if (toy_params(&p, lookup)) return 1;
    static toy_weights tw;
    ingot_engram_weights w;
    toy_bind(&tw, &w);
    static const double gate[8][2] = {{0.478251, 0.533028}, {0.475042, 0.506922}, {0.491942, 0.477254},
                                      {0.51566, 0.484259},  {0.473964, 0.481261}, {0.515716, 0.516816},
                                      {0.511871, 0.502272}, {0.48644, 0.502994}};
    static const double v0[8] = {-0.141876, 0.064774, -0.087662, 0.004944, 0.132996, -0.139648, -0.082489, 0.062515};
    static const double y[8][2][8] = {
        {{-0.086113, 0.030879, -0.031012, 0.002388, 0.066348, -0.062654, -0.034412, 0.028681},
         {-0.06547, 0.033732, -0.053729, 0.002861, 0.073827, -0.092597, -0.04334, 0.027696}},
        {{0.031368, 0.077556, -0.098576, -0.048649, 0.051117, -0.074572, -0.002204, 0.098048},
         {0.025728, 0.08162, -0.140367, -0.054619, 0.054553, -0.096991, -0.002543, 0.09508}},
        {{-0.020202, 0.029016, -0.065284, -0.020923, 0.044384, -0.072934, -0.006314, 0.062871},
         {-0.013404, 0.02754, -0.097169, -0.021953, 0.04323, -0.09462, -0.006841, 0.052025}},
        {{0.020302, 0.051251, -0.074388, -0.021109, -0.001444, -0.085154, 0.005873, 0.158154},
         {0.005616, 0.048242, -0.084513, -0.02165, -0.005253, -0.109822, 0.004097, 0.133106}},
        {{0.032257, 0.064445, -0.06875, -0.0287, 0.006601, -0.093323, -0.005489, 0.11377},
         {0.027, 0.065712, -0.079733, -0.020838, 0.004682, -0.128822, -0.006132, 0.101626}},
        {{-0.038066, 0.042194, -0.057078, 0.025825, 0.039079, -0.058302, -0.049021, 0.055217},
         {-0.028433, 0.042122, -0.069086, 0.033963, 0.036805, -0.093782, -0.055054, 0.046451}},
        {{-0.054728, 0.073234, -0.056818, -0.020442, 0.047723, -0.08273, 0.02848, 0.083628},
         {-0.047854, 0.072168, -0.060095, -0.016955, 0.056435, -0.111635, 0.038087, 0.067338}},
        {{-0.008865, 0.072902, -0.091179, -0.014854, 0.024091, -0.062443, 0.010124, 0.142229},
         {-0.001878, 0.076764, -0.098884, -0.015697, 0.029536, -0.091095, 0.011385, 0.124701}}};
    static const int64_t ids[8] = {5, 17, 923, 17, 923, 999, 0, 2};
    ingot_err err = {0};
    ingot_engram_state *st = NULL;
    CHECK_OK(ingot_engram_state_create(&p, &st, &err), &err);
    int bad = 0;
    for (int t = 0; t < 8 && !bad; t++) {
        float x[16], x0[16], g[2], val[8], out[16];
        for (int m = 0; m < 2; m++)
            for (int d = 0; d < 8; d++) x[m * 8 + d] = (float)((8 * t + 3 * m + 5 * d + 11) % 23 - 11) / 16.0f;
        memcpy(x0, x, sizeof x);
        ingot_engram_trace tr = {.gate = g, .value = val, .out = out};
        ingot_engram_state_push(st, &p, &p.layers[0], lookup, &w, ids[t], NULL);
        if (ingot_engram_forward(st, &p, &w, x, &tr, &err) != INGOT_OK) bad = 1;
        for (int m = 0; m < 2 && !bad; m++) {
            if (fabs(g[m] - gate[t][m]) > 2e-6) bad = 2;
            for (int d = 0; d < 8; d++) {
                if (fabs(out[m * 8 + d] - y[t][m][d]) > 2e-6) bad = 3;
                if (fabs(x[m * 8 + d] - (x0[m * 8 + d] + out[m * 8 + d])) > 0) bad = 4;
            }
        }
        for (int d = 0; t == 0 && d < 8; d++)
            if (fabs(val[d] - v0[d]) > 2e-6) bad = 5;
        if (bad) fprintf(stderr, "t=%d failure kind %d (%s)\n", t, bad, err.msg);
    }
    // Forward without a pushed token is a state error.
    float x[16] = {0};
    const ingot_status s2 = ingot_engram_forward(st, &p, &w, x, NULL, &err);
    ingot_engram_state_free(st);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(s2, INGOT_E_STATE);
    return 0;
}

// ---- fixture ------------------------------------------------------------------

#define FIX "/engram/qwen3_moe_engram/"

static cJSON *load_json(const char *fix, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s" FIX "%s", fix, name);
    char *text = NULL;
    size_t n = 0;
    if (ingot_file_read_all(path, 64u << 20, &text, &n, NULL) != INGOT_OK) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, n);
    ingot_free(text);
    return j;
}

// Fixture lookup map built from its tokenizer.json, and the params from its config.
static int fixture_params(const char *fix, ingot_engram_params *p, int32_t **lookup) {
    char path[1024];
    char *text = NULL;
    size_t n = 0;
    ingot_err err = {0};
    snprintf(path, sizeof path, "%s" FIX "tokenizer.json", fix);
    CHECK_OK(ingot_file_read_all(path, 64u << 20, &text, &n, &err), &err);
    uint64_t V = 0, Vc = 0;
    const ingot_status st = ingot_engram_compress_build(text, n, lookup, &V, &Vc, &err);
    ingot_free(text);
    CHECK_OK(st, &err);
    snprintf(path, sizeof path, "%s" FIX "config.json", fix);
    CHECK_OK(ingot_file_read_all(path, 1u << 20, &text, &n, &err), &err);
    ingot_engram_config c;
    bool present = false;
    const ingot_status s2 = ingot_engram_config_parse(text, n, &c, &present, &err);
    ingot_free(text);
    CHECK_OK(s2, &err);
    CHECK(present);
    CHECK_EQ_INT(c.compressed_vocab, (int64_t)Vc);
    CHECK_OK(ingot_engram_params_build(&c, V, Vc, (uint64_t)(*lookup)[c.pad_id], p, &err), &err);
    return 0;
}

static int test_engram_fixture_compress(void) {
    SKIP_WITHOUT_FIXTURES(fix);
    cJSON *ref = load_json(fix, "compressed_lookup.json");
    if (!ref) {
        printf("skipped: fixture engram/qwen3_moe_engram is absent\n");
        return INGOT_TEST_SKIP;
    }
    ingot_engram_params p;
    int32_t *lookup = NULL;
    int r = fixture_params(fix, &p, &lookup);
    const cJSON *lk = cJSON_GetObjectItemCaseSensitive(ref, "lookup");
    if (!r && (uint64_t)cJSON_GetArraySize(lk) != p.vocab) r = 2;
    for (uint64_t i = 0; !r && i < p.vocab; i++) {
        const int want = cJSON_GetArrayItem(lk, (int)i)->valueint;
        if (lookup[i] != want) {
            fprintf(stderr, "lookup[%llu] = %d, reference %d\n", (unsigned long long)i, lookup[i], want);
            r = 3;
        }
    }
    if (!r && p.compressed_vocab != (uint64_t)cJSON_GetObjectItem(ref, "compressed_vocab_size")->valueint) r = 4;
    if (!r && p.pad_compressed != (uint64_t)cJSON_GetObjectItem(ref, "pad_id_compressed")->valueint) r = 5;
    ingot_free(lookup);
    cJSON_Delete(ref);
    CHECK_EQ_INT(r, 0);
    return 0;
}

static int test_engram_fixture_rows(void) {
    SKIP_WITHOUT_FIXTURES(fix);
    cJSON *ref = load_json(fix, "engram_rows.json");
    if (!ref) {
        printf("skipped: fixture engram/qwen3_moe_engram is absent\n");
        return INGOT_TEST_SKIP;
    }
    ingot_engram_params p;
    int32_t *lookup = NULL;
    int r = fixture_params(fix, &p, &lookup);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(ref, "input_ids");
    const cJSON *cids = cJSON_GetObjectItemCaseSensitive(ref, "compressed_input_ids");
    const cJSON *L = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ref, "layers"), "1");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(L, "rows");
    const cJSON *mult = cJSON_GetObjectItemCaseSensitive(L, "multipliers");
    const uint32_t cols = r ? 0 : ingot_engram_n_cols(&p);
    for (uint32_t k = 0; !r && k < p.max_ngram; k++)
        if ((double)p.layers[0].mult[k] != cJSON_GetArrayItem(mult, (int)k)->valuedouble) r = 2;
    ingot_engram_state *st = NULL;
    ingot_err err = {0};
    if (!r && ingot_engram_state_create(&p, &st, &err) != INGOT_OK) r = 3;
    const int T = cJSON_GetArraySize(ids);
    for (int t = 0; !r && t < T; t++) {
        const int64_t id = cJSON_GetArrayItem(ids, t)->valueint;
        if (ingot_engram_compress_id(lookup, p.vocab, id) != (uint64_t)cJSON_GetArrayItem(cids, t)->valueint) r = 4;
        uint64_t got[INGOT_ENGRAM_MAX_COLS];
        ingot_engram_state_push(st, &p, &p.layers[0], lookup, NULL, id, got);
        const cJSON *want = cJSON_GetArrayItem(rows, t);
        if ((uint32_t)cJSON_GetArraySize(want) != cols) r = 5;
        for (uint32_t j = 0; !r && j < cols; j++)
            if (got[j] != (uint64_t)cJSON_GetArrayItem(want, (int)j)->valuedouble) {
                fprintf(stderr, "t=%d col %u: %llu vs %.0f\n", t, j, (unsigned long long)got[j],
                        cJSON_GetArrayItem(want, (int)j)->valuedouble);
                r = 6;
            }
    }
    if (!r && T != 48) r = 7;
    ingot_engram_state_free(st);
    ingot_free(lookup);
    cJSON_Delete(ref);
    CHECK_EQ_INT(r, 0);
    return 0;
}

static float *load_f32(const char *fix, const char *name, size_t want) {
    char path[1024];
    snprintf(path, sizeof path, "%s" FIX "%s", fix, name);
    char *text = NULL;
    size_t n = 0;
    if (ingot_file_read_all(path, 64u << 20, &text, &n, NULL) != INGOT_OK) return NULL;
    if (n != want * sizeof(float)) {
        ingot_free(text);
        return NULL;
    }
    return (float *)text;
}

// A fixture tensor by name: F32 data or NULL (with dims checked against want).
static const void *fixture_tensor(const ingot_checkpoint *ck, const char *name, uint64_t d0, uint64_t d1,
                                  ingot_dtype dtype) {
    const int64_t i = ingot_checkpoint_find(ck, name);
    if (i < 0) return NULL;
    const ingot_st_tensor *t = ingot_checkpoint_tensor(ck, (size_t)i);
    if (t->dtype != dtype || t->dims[0] != d0 || (d1 && t->dims[1] != d1)) return NULL;
    return ingot_checkpoint_tensor_data(ck, (size_t)i);
}

static int bind_fixture(const ingot_checkpoint *ck, const ingot_engram_params *p, ingot_engram_weights *w) {
    const uint32_t D = p->d_model, d_mem = ingot_engram_n_cols(p) * p->d_h;
    const char *pre = "model.layers.1.engram.";
    char name[256];
#define TENSOR(suffix, d0, d1) (snprintf(name, sizeof name, "%s%s", pre, suffix), fixture_tensor(ck, name, d0, d1, INGOT_DTYPE_F32))
    memset(w, 0, sizeof *w);
    w->table_dtype = INGOT_DTYPE_F32;
    w->table = TENSOR("multi_head_embedding.embedding.weight", p->layers[0].n_rows, p->d_h);
    w->table_rows = p->layers[0].n_rows;
    w->value = (ingot_engram_linear){INGOT_DTYPE_F32, TENSOR("value_proj.weight", D, d_mem),
                                     TENSOR("value_proj.bias", D, 0), D, d_mem};
    w->key[0] = (ingot_engram_linear){INGOT_DTYPE_F32, TENSOR("key_projs.0.weight", D, d_mem),
                                      TENSOR("key_projs.0.bias", D, 0), D, d_mem};
    w->key_norm[0] = TENSOR("norm1.0.weight", D, 0);
    w->query_norm[0] = TENSOR("norm2.0.weight", D, 0);
    w->conv_norm[0] = TENSOR("short_conv.norms.0.weight", D, 0);
    w->conv_w = TENSOR("short_conv.conv.weight", D, 1);
#undef TENSOR
    CHECK(w->table && w->value.w && w->value.b && w->key[0].w && w->key[0].b && w->key_norm[0] && w->query_norm[0] &&
          w->conv_norm[0] && w->conv_w);
    // The checkpoint's offsets buffer equals the computed offsets.
    const int64_t *off = fixture_tensor(ck, "model.layers.1.engram.multi_head_embedding.offsets",
                                        ingot_engram_n_cols(p), 0, INGOT_DTYPE_I64);
    CHECK(off);
    for (uint32_t j = 0; j < ingot_engram_n_cols(p); j++) CHECK_EQ_U64((uint64_t)off[j], p->layers[0].offset[j]);
    return 0;
}

static int max_diff(const char *what, const float *a, const float *b, size_t n, double tol) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - b[i]) > worst) worst = fabs((double)a[i] - b[i]), at = i;
    if (worst > tol) {
        fprintf(stderr, "%s: max |diff| %.3g at %zu (%.7g vs %.7g)\n", what, worst, at, a[at], b[at]);
        return 1;
    }
    return 0;
}

enum { FX_T = 48, FX_D = 128 };

static int test_engram_fixture_forward(void) {
    SKIP_WITHOUT_FIXTURES(fix);
    char path[1024];
    snprintf(path, sizeof path, "%s" FIX "model.safetensors", fix);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        printf("skipped: fixture engram/qwen3_moe_engram is absent\n");
        return INGOT_TEST_SKIP;
    }
    ingot_engram_params p;
    int32_t *lookup = NULL;
    if (fixture_params(fix, &p, &lookup)) return 1;
    ingot_err err = {0};
    ingot_checkpoint *ck = NULL;
    const ingot_status so = ingot_checkpoint_open(path, &ck, &err);
    if (so != INGOT_OK) ingot_free(lookup);
    CHECK_OK(so, &err);
    static const char *names[] = {"engram_L1_resid_in.f32", "engram_L1_emb.f32",      "engram_L1_value.f32",
                                  "engram_L1_gate.f32",     "engram_L1_gated_value.f32", "engram_L1_conv_out.f32",
                                  "engram_L1_out.f32",      "engram_L1_resid_after_engram.f32"};
    static const size_t widths[] = {FX_D, FX_D, FX_D, 1, FX_D, FX_D, FX_D, FX_D};
    float *ref[8] = {0}, *got[8] = {0};
    int r = 0;
    for (int i = 0; i < 8; i++) {
        ref[i] = load_f32(fix, names[i], FX_T * widths[i]);
        got[i] = ingot_calloc(FX_T * widths[i], sizeof(float));
        if (!ref[i] || !got[i]) r = 1;
    }
    ingot_engram_weights w;
    if (!r) r = bind_fixture(ck, &p, &w);
    cJSON *tokens = r ? NULL : load_json(fix, "tokens.json");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(tokens, "input_ids");
    if (!r && cJSON_GetArraySize(ids) != FX_T) r = 2;
    ingot_engram_state *st = NULL;
    if (!r && ingot_engram_state_create(&p, &st, &err) != INGOT_OK) r = 3;
    for (int t = 0; !r && t < FX_T; t++) {
        float *x = got[7] + t * FX_D;
        memcpy(x, ref[0] + t * FX_D, FX_D * sizeof *x);
        ingot_engram_trace tr = {got[1] + t * FX_D, got[2] + t * FX_D, got[3] + t, got[4] + t * FX_D,
                                 got[5] + t * FX_D, got[6] + t * FX_D};
        ingot_engram_state_push(st, &p, &p.layers[0], lookup, &w, cJSON_GetArrayItem(ids, t)->valueint, NULL);
        if (ingot_engram_forward(st, &p, &w, x, &tr, &err) != INGOT_OK) r = 4;
    }
    for (int i = 1; !r && i < 8; i++) r = max_diff(names[i], got[i], ref[i], FX_T * widths[i], 1e-5);
    ingot_engram_state_free(st);
    cJSON_Delete(tokens);
    for (int i = 0; i < 8; i++) {
        ingot_free(ref[i]);
        ingot_free(got[i]);
    }
    ingot_checkpoint_close(ck);
    ingot_free(lookup);
    if (r == 4) fprintf(stderr, "forward: %s\n", err.msg);
    CHECK_EQ_INT(r, 0);
    return 0;
}

// ---- quantized tables and projections ----------------------------------------

static float lcg_unit(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

static double rel_rms(const float *a, const float *b, size_t n) {
    double d2 = 0, r2 = 0;
    for (size_t i = 0; i < n; i++) {
        d2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        r2 += (double)b[i] * b[i];
    }
    return r2 > 0 ? sqrt(d2 / r2) : 0;
}

// Table rows gathered from Q8_0 / Q6_K / Q4_K / F8_E4M3_R32 storage decode
// to the stored row (each row on its own), within each type's error budget;
// a Q8_0 projection gives W x within the activation-quantization budget.
static int test_engram_quantized_rows(void) {
    ingot_engram_config c;
    if (parse_cfg("{\"engram_layer_ids\":[1],\"engram_max_ngram_size\":3,\"engram_n_head_per_ngram\":2,"
                  "\"engram_n_embed_per_ngram\":512,\"engram_vocab_size\":[200,300],\"engram_kernel_size\":0,"
                  "\"hidden_size\":64}",
                  &c))
        return 1;
    ingot_engram_params p;
    ingot_err err = {0};
    CHECK_OK(ingot_engram_params_build(&c, 1000, 1000, 2, &p, &err), &err);
    static int32_t lookup[1000];
    for (int i = 0; i < 1000; i++) lookup[i] = i;
    const uint32_t d_h = p.d_h, D = p.d_model, d_mem = ingot_engram_n_cols(&p) * d_h;
    const uint64_t R = p.layers[0].n_rows;
    CHECK_EQ_INT(d_h, 256);
    float *table = ingot_malloc(R * d_h * sizeof *table), *vw = ingot_malloc((size_t)D * d_mem * sizeof *vw);
    uint8_t *q = ingot_malloc(R * d_h * 2), *qv = ingot_malloc((size_t)D * d_mem * 2);
    float *ones = ingot_malloc(D * sizeof *ones);
    CHECK(table && vw && q && qv && ones);
    uint64_t seed = 7;
    for (uint64_t i = 0; i < R * d_h; i++) table[i] = lcg_unit(&seed);
    for (size_t i = 0; i < (size_t)D * d_mem; i++) vw[i] = lcg_unit(&seed) * 0.05f;
    for (uint32_t i = 0; i < D; i++) ones[i] = 1;
    static const struct {
        ingot_dtype t;
        double budget;
    } types[] = {{INGOT_DTYPE_Q8_0, 0.01}, {INGOT_DTYPE_Q6_K, 0.02}, {INGOT_DTYPE_Q4_K, 0.1},
                 {INGOT_DTYPE_F8_E4M3_R32, 0.07}, {INGOT_DTYPE_F16, 1e-3}};
    int bad = 0;
    for (size_t k = 0; k < sizeof types / sizeof *types && !bad; k++) {
        const ingot_quant_traits *qt = ingot_quant_get(types[k].t);
        uint64_t rb = 0;
        if (!qt || ingot_dtype_row_bytes(types[k].t, d_h, &rb, &err) != INGOT_OK) {
            bad = 1;
            break;
        }
        for (uint64_t r = 0; r < R; r++) qt->quantize_row(table + r * d_h, q + r * rb, d_h, NULL);
        const ingot_quant_traits *q8 = ingot_quant_get(INGOT_DTYPE_Q8_0);
        uint64_t vrb = 0;
        ingot_dtype_row_bytes(INGOT_DTYPE_Q8_0, d_mem, &vrb, NULL);
        for (uint32_t r = 0; r < D; r++) q8->quantize_row(vw + (size_t)r * d_mem, qv + r * vrb, d_mem, NULL);
        ingot_engram_weights w = {.table_dtype = types[k].t, .table = q, .table_rows = R};
        w.value = (ingot_engram_linear){INGOT_DTYPE_Q8_0, qv, NULL, D, d_mem};
        w.key[0] = (ingot_engram_linear){INGOT_DTYPE_F32, vw, NULL, D, d_mem};
        w.key_norm[0] = w.query_norm[0] = ones;
        ingot_engram_state *st = NULL;
        if (ingot_engram_state_create(&p, &st, &err) != INGOT_OK) {
            bad = 2;
            break;
        }
        float emb[1024], val[64], x[64] = {0}, ref[1024], vref[64];
        uint64_t rows[INGOT_ENGRAM_MAX_COLS];
        for (int t = 0; t < 20 && !bad; t++) {
            ingot_engram_trace tr = {.emb = emb, .value = val};
            ingot_engram_state_push(st, &p, &p.layers[0], lookup, &w, (int64_t)(t * 37 % 1000), rows);
            if (ingot_engram_forward(st, &p, &w, x, &tr, &err) != INGOT_OK) bad = 3;
            for (uint32_t j = 0; j < ingot_engram_n_cols(&p); j++)
                memcpy(ref + j * d_h, table + rows[j] * d_h, d_h * sizeof *ref);
            const double e = rel_rms(emb, ref, d_mem);
            if (e > types[k].budget) {
                fprintf(stderr, "%s rows: rel rms %.4g > %.4g\n", ingot_dtype_name(types[k].t), e, types[k].budget);
                bad = 4;
            }
            for (uint32_t r = 0; r < D; r++) {
                double acc = 0;
                for (uint32_t i = 0; i < d_mem; i++) acc += (double)vw[(size_t)r * d_mem + i] * emb[i];
                vref[r] = (float)acc;
            }
            const double ev = rel_rms(val, vref, D);
            if (ev > 0.02) {
                fprintf(stderr, "q8_0 projection: rel rms %.4g\n", ev);
                bad = 5;
            }
        }
        ingot_engram_state_free(st);
    }
    ingot_free(table);
    ingot_free(vw);
    ingot_free(q);
    ingot_free(qv);
    ingot_free(ones);
    CHECK_EQ_INT(bad, 0);
    return 0;
}

// ---- the local ByteLevel decode agrees with the runner's tokenizer -------------

// Lookup built from ingot_tokenizer_decode_token_hf + token_to_piece (the
// runner's HF-exact decode), numbered by first occurrence like the converter.
static int lookup_via_tokenizer(const char *json, size_t n, int32_t *out, size_t cap, size_t *vocab) {
    ingot_err err = {0};
    ingot_tokenizer *tok = NULL;
    CHECK_OK(ingot_tokenizer_create(json, n, &tok, &err), &err);
    char **keys = ingot_calloc(cap, sizeof *keys);
    size_t *lens = ingot_calloc(cap, sizeof *lens);
    int32_t *ids = ingot_calloc(cap, sizeof *ids);
    int r = !keys || !lens || !ids;
    size_t V = 0, next = 0;
    static char text[4096];
    for (; !r && V < cap; V++) {
        const char *piece = NULL;
        size_t pn = 0, tn = 0;
        if (ingot_tokenizer_token_to_piece(tok, (int32_t)V, &piece, &pn, NULL) != INGOT_OK) break;
        if (ingot_tokenizer_decode_token_hf(tok, (int32_t)V, text, sizeof text, &tn, &err) != INGOT_OK) r = 2;
        if (!r && ingot_engram_token_key(text, tn, piece, pn, &keys[V], &lens[V], &err) != INGOT_OK) r = 3;
        if (r) break;
        out[V] = -1;
        for (size_t j = 0; j < V && out[V] < 0; j++)
            if (lens[j] == lens[V] && !memcmp(keys[j], keys[V], lens[V])) out[V] = out[j];
        if (out[V] < 0) out[V] = (int32_t)next++;
    }
    for (size_t i = 0; keys && i < cap; i++) ingot_free(keys[i]);
    ingot_free(keys);
    ingot_free(lens);
    ingot_free(ids);
    ingot_tokenizer_free(tok);
    *vocab = V;
    if (r) fprintf(stderr, "tokenizer path failed (%d): %s\n", r, err.msg);
    return r;
}

static int test_engram_decode_matches_tokenizer(void) {
    SKIP_WITHOUT_FIXTURES(fix);
    static const char *files[] = {
        "engram/qwen3_moe_engram/tokenizer.json",
        "thirdparty/neuralapi/tokenizers/tiny_bpe_bytelevel_tokenizer.json",
        "thirdparty/neuralapi/tokenizers/tiny_bpe_split_deepseek_tokenizer.json",
        "thirdparty/neuralapi/tokenizers/tiny_bpe_split_qwen2_tokenizer.json",
        "thirdparty/neuralapi/tokenizers/tiny_bpe_split_o200k_tokenizer.json",
    };
    int checked = 0;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", fix, files[f]);
        char *json = NULL;
        size_t n = 0;
        if (ingot_file_read_all(path, 64u << 20, &json, &n, NULL) != INGOT_OK) continue;
        int32_t *mine = NULL;
        uint64_t V = 0, Vc = 0;
        ingot_err err = {0};
        const ingot_status st = ingot_engram_compress_build(json, n, &mine, &V, &Vc, &err);
        int32_t *theirs = ingot_malloc((V + 1) * sizeof *theirs);
        size_t Vt = 0;
        int r = st != INGOT_OK || !theirs;
        if (!r) r = lookup_via_tokenizer(json, n, theirs, V, &Vt);
        if (!r && Vt != V) r = 4;
        for (uint64_t i = 0; !r && i < V; i++)
            if (mine[i] != theirs[i]) {
                fprintf(stderr, "%s: id %llu: %d vs %d\n", files[f], (unsigned long long)i, mine[i], theirs[i]);
                r = 5;
            }
        ingot_free(json);
        ingot_free(mine);
        ingot_free(theirs);
        if (r) fprintf(stderr, "%s: failure %d (%s)\n", files[f], r, err.msg);
        CHECK_EQ_INT(r, 0);
        checked++;
    }
    if (!checked) {
        printf("skipped: no tokenizer fixtures found\n");
        return INGOT_TEST_SKIP;
    }
    return 0;
}

// ---- allocation failures -------------------------------------------------------

// Every allocation of the compression-map build and of the state can fail:
// the status is INGOT_E_NOMEM and nothing leaks.
static int test_engram_alloc_failures(void) {
    SKIP_WITHOUT_FIXTURES(fix);
    char path[1024];
    snprintf(path, sizeof path, "%s" FIX "tokenizer.json", fix);
    char *json = NULL;
    size_t n = 0;
    if (ingot_file_read_all(path, 64u << 20, &json, &n, NULL) != INGOT_OK) {
        printf("skipped: fixture engram/qwen3_moe_engram is absent\n");
        return INGOT_TEST_SKIP;
    }
    ingot_engram_params p;
    static int32_t lookup[1000];
    if (toy_params(&p, lookup)) return 1;
    int bad = 0, failures = 0;
    for (uint64_t k = 1; k < 100000 && !bad; k++) {
        const int64_t live = ingot_alloc_live();
        ingot_err err = {0};
        int32_t *lk = NULL;
        uint64_t V = 0, Vc = 0;
        ingot_alloc_fail_at(k, false);
        const ingot_status st = ingot_engram_compress_build(json, n, &lk, &V, &Vc, &err);
        ingot_alloc_fail_at(0, false);
        ingot_free(lk);
        if (st == INGOT_OK) break; // k is past the last allocation
        failures++;
        if (st != INGOT_E_NOMEM) bad = 1;
        if (ingot_alloc_live() != live) bad = 2;
        if (bad) fprintf(stderr, "allocation %llu: %s, live %lld -> %lld (%s)\n", (unsigned long long)k,
                         ingot_status_name(st), (long long)live, (long long)ingot_alloc_live(), err.msg);
    }
    for (uint64_t k = 1; k < 10 && !bad; k++) {
        const int64_t live = ingot_alloc_live();
        ingot_engram_state *st = NULL;
        ingot_alloc_fail_at(k, false);
        const ingot_status s2 = ingot_engram_state_create(&p, &st, NULL);
        ingot_alloc_fail_at(0, false);
        ingot_engram_state_free(st);
        if (s2 != INGOT_OK && s2 != INGOT_E_NOMEM) bad = 3;
        if (ingot_alloc_live() != live) bad = 4;
    }
    ingot_free(json);
    CHECK_EQ_INT(bad, 0);
    CHECK(failures > 100);
    return 0;
}

// ---- V4.1 gate and output -------------------------------------------------------

// A zero key makes the gate score exactly 0: the demo's sign(0) = 0 gives
// sigmoid(0) = 0.5, V4.1's sign(0) = + gives sigmoid(sqrt(1e-6)); V4.1 has
// no conv, so the output is the gated value.
static int test_engram_v41_gate_at_zero(void) {
    ingot_engram_config c;
    if (parse_cfg("{\"engram_layer_ids\":[1],\"engram_max_ngram_size\":3,\"engram_n_heads\":2,"
                  "\"engram_head_dim\":4,\"engram_vocab_size\":200,\"hidden_size\":8,\"hc_mult\":2,"
                  "\"rms_norm_eps\":1e-6}",
                  &c))
        return 1;
    CHECK_EQ_INT(c.variant, INGOT_ENGRAM_V41);
    ingot_engram_params p;
    ingot_err err = {0};
    CHECK_OK(ingot_engram_params_build(&c, 1000, 1000, 2, &p, &err), &err);
    CHECK_EQ_INT(p.kernel_size, 0);
    CHECK_NEAR(p.gate_eps, 1e-6, 1e-12);
    static int32_t lookup[1000];
    for (int i = 0; i < 1000; i++) lookup[i] = i;
    static float table[2000 * 4], vw[8 * 16], kw[8 * 16], ones[8];
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) table[i] = (float)((i * 7) % 11) / 8.0f - 0.6f;
    for (size_t i = 0; i < sizeof vw / sizeof *vw; i++) vw[i] = (float)((i * 5) % 13) / 16.0f - 0.4f;
    for (int i = 0; i < 8; i++) ones[i] = 1;
    ingot_engram_weights w = {.table_dtype = INGOT_DTYPE_F32, .table = (const uint8_t *)table,
                              .table_rows = p.layers[0].n_rows};
    CHECK(p.layers[0].n_rows <= 2000);
    w.value = (ingot_engram_linear){INGOT_DTYPE_F32, vw, NULL, 8, 16};
    for (int m = 0; m < 2; m++) {
        w.key[m] = (ingot_engram_linear){INGOT_DTYPE_F32, kw, NULL, 8, 16}; // all zero
        w.key_norm[m] = w.query_norm[m] = ones;
    }
    const double want[2] = {0.5, 1.0 / (1.0 + exp(-sqrt(1e-6)))};
    for (int variant = 0; variant < 2; variant++) {
        p.sign_zero_positive = variant == 1;
        ingot_engram_state *st = NULL;
        CHECK_OK(ingot_engram_state_create(&p, &st, &err), &err);
        float x[16], g[2], v[8], out[16];
        for (int i = 0; i < 16; i++) x[i] = (float)i / 8.0f - 1.0f;
        ingot_engram_trace tr = {.gate = g, .value = v, .out = out};
        ingot_engram_state_push(st, &p, &p.layers[0], lookup, &w, 17, NULL);
        const ingot_status s2 = ingot_engram_forward(st, &p, &w, x, &tr, &err);
        ingot_engram_state_free(st);
        CHECK_OK(s2, &err);
        for (int m = 0; m < 2; m++) {
            CHECK_NEAR(g[m], want[variant], 1e-7);
            for (int d = 0; d < 8; d++) CHECK_NEAR(out[m * 8 + d], g[m] * v[d], 1e-7);
        }
    }
    return 0;
}

INGOT_TEST_MAIN(T(engram_rng_vectors), T(engram_next_prime), T(engram_v41_params), T(engram_demo_primes),
                T(engram_toy_hash), T(engram_toy_compress), T(engram_normalize_rules),
                T(engram_metadata_roundtrip), T(engram_lookup_check), T(engram_forward_toy),
                T(engram_fixture_compress), T(engram_fixture_rows), T(engram_fixture_forward),
                T(engram_quantized_rows), T(engram_decode_matches_tokenizer),
                T(engram_alloc_failures), T(engram_v41_gate_at_zero))
