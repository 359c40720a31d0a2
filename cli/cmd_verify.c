// `ingot verify`: structure and checksums, optionally against the source
// checkpoint or reference logits, and a verdict (exit 0 pass, 3 mismatch,
// 1 unreadable or failed to run).
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "ingot/verify.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ingot verify [OPTIONS] FILE.ingot\n"
            "\n"
            "Checks the file's structure, header and tensor checksums, and that every tensor the\n"
            "architecture needs is present with the right shape and an executable type. With\n"
            "--against, also compares every tensor with the source and runs source and file on\n"
            "the same tokens. Gives a verdict.\n"
            "\n"
            "Options:\n"
            "  --against SRC            compare with the source checkpoint (folder, file or archive)\n"
            "  --reference-logits DIR   compare with tokens.json + logits.f32 computed elsewhere\n"
            "  --text FILE              end-to-end text [default: built-in text]\n"
            "  --tokens N               end-to-end positions [default: 512]\n"
            "  --ctx N                  evaluation window [default: min(512, max positions)]\n"
            "  --threshold-kld X        mean KL-divergence ceiling [default: by preset]\n"
            "  --threshold-top1 X       top-1 agreement floor, 0..1 [default: by preset]\n"
            "  --worst N                tensors listed by lowest SQNR [default: 10]\n"
            "  --no-tensors             with --against: skip the per-tensor comparison\n"
            "  --no-e2e                 with --against: skip the end-to-end run\n"
            "  --threads N              worker threads [default: all cores]\n"
            "  --json                   print the report as JSON\n"
            "  -q, --quiet              print only the verdict line\n"
            "  -h, --help               show this help\n"
            "\n"
            "Exit codes: 0 pass, 1 unreadable or error, 2 usage, 3 verification failed.\n");
}

static void print_db(double v) {
    if (isinf(v)) printf("%8s", "inf");
    else printf("%8.2f", v);
}

static void print_human(const char *path, const ingot_verify_report *r, int worst, bool quiet) {
    if (!quiet) {
        printf("ingot verify: %s\n", path);
        if (r->structure_ran) {
            char b[32];
            printf("  structure: %s, %zu tensors, %s hashed", r->arch[0] ? r->arch : "?", r->n_tensors,
                   ingot_cli_fmt_bytes(r->bytes_hashed, b, sizeof b));
            if (r->hash_seconds > 0) printf(" at %.1f GB/s", r->bytes_hashed / r->hash_seconds / 1e9);
            printf(", preset %s\n", r->preset[0] ? r->preset : "(none)");
        }
        if (r->n_problems) {
            printf("  %zu problem%s:\n", r->n_problems, r->n_problems == 1 ? "" : "s");
            for (size_t i = 0; i < r->n_problems && i < r->cap_problems; i++) printf("    - %s\n", r->problems[i].msg);
        }
        if (r->tensors_ran) {
            printf("  tensors vs source: %zu compared, %zu bit-exact\n", r->n_cmp, r->n_bit_exact);
            int k = 0;
            for (size_t i = 0; i < r->n_cmp && k < worst; i++) {
                const ingot_verify_tensor_cmp *c = &r->cmp[i];
                if (c->bit_exact) continue;
                if (k++ == 0)
                    printf("    %-40s %-12s %10s %10s %10s %8s\n", "worst tensors", "type", "rmse", "max", "cosine",
                           "sqnr dB");
                printf("    %-40.40s %-12s %10.3g %10.3g %10.6f ", c->name, ingot_dtype_name(c->type), c->rmse,
                       c->max_abs, c->cosine);
                print_db(c->sqnr_db);
                printf("\n");
            }
        }
        if (r->e2e_ran) {
            printf("  end to end vs %s (%d positions%s):\n", r->e2e_base, r->e2e_tokens,
                   r->e2e_tokens_from_text ? " of text" : ", pseudo-random ids: no tokenizer in the file");
            printf("    mean KLD %.6f  p99 KLD %.6f  top-1 %.2f%%  PPL %.4f -> %.4f (dPPL %+.4f)  RMS dp %.3f%%  max "
                   "|dlogit| %.3g\n",
                   r->kld_mean, r->kld_p99, 100 * r->top1, r->ppl_base, r->ppl, r->delta_ppl, 100 * r->rms_dp,
                   r->max_abs_logit);
            for (size_t i = 0; i < r->n_trace; i++) {
                const char *what = i == 0 ? "embeddings" : i + 1 == r->n_trace ? "final norm" : NULL;
                if (what) printf("    %-12s", what);
                else printf("    layer %-6zu", i - 1);
                printf(" cosine %.6f  sqnr ", r->trace[i].cosine);
                print_db(r->trace[i].sqnr_db);
                printf(" dB\n");
            }
        }
    }
    if (r->verdict_ran)
        printf("verdict: %s (%s; thresholds: mean KLD <= %g, top-1 >= %.1f%%)\n", r->pass ? "PASS" : "FAIL", r->reason,
               r->threshold_kld, 100 * r->threshold_top1);
}

int ingot_cmd_verify(int argc, char **argv) {
    static const struct option longopts[] = {
        {"against", required_argument, 0, 'a'},    {"reference-logits", required_argument, 0, 'r'},
        {"text", required_argument, 0, 't'},       {"tokens", required_argument, 0, 'n'},
        {"ctx", required_argument, 0, 'c'},        {"threshold-kld", required_argument, 0, 'K'},
        {"threshold-top1", required_argument, 0, 'T'}, {"worst", required_argument, 0, 'w'},
        {"no-tensors", no_argument, 0, 'X'},       {"no-e2e", no_argument, 0, 'E'},
        {"threads", required_argument, 0, 'j'},    {"json", no_argument, 0, 'J'},
        {"quiet", no_argument, 0, 'q'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    ingot_verify_opts o;
    ingot_verify_opts_init(&o);
    const char *against = NULL, *refdir = NULL;
    bool json = false, quiet = false;
    uint64_t worst = 10, v;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'a': against = optarg; break;
        case 'r': refdir = optarg; break;
        case 't': o.text_path = optarg; break;
        case 'n':
            if (!ingot_cli_parse_u64(optarg, &v) || v < 2 || v > 1u << 24)
                return ingot_cli_usage_error("verify", "--tokens must be an integer in [2, 16777216]");
            o.n_tokens = (int)v;
            break;
        case 'c':
            if (!ingot_cli_parse_u64(optarg, &v) || v < 2 || v > 1u << 20)
                return ingot_cli_usage_error("verify", "--ctx must be an integer in [2, 1048576]");
            o.n_ctx = (int)v;
            break;
        case 'K':
            o.threshold_kld = strtod(optarg, &end);
            if (*end || !(o.threshold_kld >= 0)) return ingot_cli_usage_error("verify", "--threshold-kld must be >= 0");
            break;
        case 'T':
            o.threshold_top1 = strtod(optarg, &end);
            if (*end || !(o.threshold_top1 >= 0 && o.threshold_top1 <= 1))
                return ingot_cli_usage_error("verify", "--threshold-top1 must be in [0, 1]");
            break;
        case 'w':
            if (!ingot_cli_parse_u64(optarg, &worst) || worst > 1000000)
                return ingot_cli_usage_error("verify", "--worst must be a count");
            break;
        case 'X': o.skip_tensors = true; break;
        case 'E': o.skip_e2e = true; break;
        case 'j':
            if (!ingot_cli_parse_u64(optarg, &v) || v < 1 || v > 1024)
                return ingot_cli_usage_error("verify", "--threads must be in [1, 1024]");
            o.n_threads = (int)v;
            break;
        case 'J': json = true; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return INGOT_EXIT_OK;
        default: return ingot_cli_usage_error("verify", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return ingot_cli_usage_error("verify", "expected one FILE.ingot");
    const char *path = argv[optind];
    ingot_verify_report r;
    ingot_verify_report_init(&r);
    ingot_err err = {0};
    ingot_status st = ingot_verify_structure(path, &o, &r, &err);
    if (st == INGOT_OK && r.readable && against) st = ingot_verify_against(path, against, &o, &r, &err);
    if (st == INGOT_OK && r.readable && refdir) st = ingot_verify_reference_logits(path, refdir, &o, &r, &err);
    if (st != INGOT_OK) {
        ingot_verify_report_deinit(&r);
        return ingot_cli_fail("verify", &err);
    }
    ingot_verify_verdict(&r, &o);
    if (json) {
        char *s = ingot_verify_report_json(&r);
        if (s) printf("%s\n", s);
        ingot_free(s);
    } else {
        print_human(path, &r, (int)worst, quiet);
    }
    int rc = r.pass ? INGOT_EXIT_OK : INGOT_EXIT_MISMATCH;
    ingot_verify_report_deinit(&r);
    return rc;
}
