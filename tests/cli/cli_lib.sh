# Helpers sourced by tests/cli/*.sh. `run ARGS…` runs the ingot binary and
# keeps its exit code, stdout and stderr; the expect_* checks report every
# mismatch with what was seen and make the script fail at the end.
set -u
: "${INGOT:?INGOT must name the ingot binary}"
CLI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ingot-cli-XXXXXX")
trap 'rm -rf "$CLI_TMP"' EXIT
cd "$CLI_TMP" || exit 1
CLI_FAILURES=0
CLI_LAST=""

run() {
    CLI_LAST="ingot $*"
    "$INGOT" "$@" >"$CLI_TMP/.out" 2>"$CLI_TMP/.err"
    CLI_RC=$?
}

fail() {
    echo "FAIL: $CLI_LAST: $*" >&2
    echo "  exit: $CLI_RC" >&2
    sed 's/^/  stdout: /' "$CLI_TMP/.out" | head -20 >&2
    sed 's/^/  stderr: /' "$CLI_TMP/.err" | head -20 >&2
    CLI_FAILURES=$((CLI_FAILURES + 1))
}

expect_exit() { [ "$CLI_RC" -eq "$1" ] || fail "exit code $CLI_RC, expected $1"; }
expect_stdout() { grep -qF -- "$1" "$CLI_TMP/.out" || fail "stdout lacks '$1'"; }
expect_stderr() { grep -qF -- "$1" "$CLI_TMP/.err" || fail "stderr lacks '$1'"; }
expect_stdout_empty() { [ ! -s "$CLI_TMP/.out" ] || fail "stdout is not empty"; }
expect_stderr_empty() { [ ! -s "$CLI_TMP/.err" ] || fail "stderr is not empty"; }
expect_file() { [ -f "$1" ] || fail "file $1 is missing"; }
expect_no_file() { [ ! -e "$1" ] || fail "file $1 exists"; }
# No temporary file may be left beside an output.
expect_no_temp() { ! ls -a | grep -q '\.tmp-' || fail "a temporary file was left: $(ls -a | grep '\.tmp-')"; }

finish() {
    if [ "$CLI_FAILURES" -ne 0 ]; then
        echo "$CLI_FAILURES check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
    exit 0
}
