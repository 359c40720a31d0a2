# `ingot pack` / `ingot unpack`: help, usage errors, a bit-exact round trip,
# refusal to overwrite, and a damaged .ingot.zst that leaves nothing behind.
. "$CLI_LIB"

for cmd in pack unpack; do
    run $cmd --help
    expect_exit 0
    expect_stdout "Usage: ingot $cmd [OPTIONS]"
    expect_stderr_empty
    run $cmd
    expect_exit 2
    expect_stdout_empty
    expect_stderr "Try 'ingot $cmd --help'."
    run $cmd --threads zero x
    expect_exit 2
    expect_stderr "--threads must be in [1, 1024]"
done

run pack --level 0 m.ingot
expect_exit 2
expect_stderr "--level must be in [1, 22]"

"$MAKE_INGOT" m.ingot || { echo "cannot make a sample .ingot" >&2; exit 1; }

run pack m.ingot --threads 2
expect_exit 0
expect_stdout "-> m.ingot.zst"
expect_stdout "ratio"
expect_file m.ingot.zst

run pack m.ingot
expect_exit 1
expect_stderr "ingot pack: error: m.ingot.zst: already exists"

run pack --force --level 5 m.ingot -o m.ingot.zst
expect_exit 0

run unpack m.ingot.zst -o r.ingot
expect_exit 0
expect_stdout "verified"
cmp -s m.ingot r.ingot || fail "r.ingot differs from m.ingot"

run unpack m.ingot.zst -o r.ingot
expect_exit 1
expect_stderr "already exists"

mkdir sub && cp m.ingot.zst sub/
run unpack -q sub/m.ingot.zst
expect_exit 0
expect_stdout_empty
cmp -s m.ingot sub/m.ingot || fail "sub/m.ingot differs from m.ingot"

cp m.ingot plain
run unpack plain
expect_exit 2
expect_stderr "name the output with -o"

# A damaged frame: unpack fails and leaves neither output nor temporary file.
size=$(stat -c %s m.ingot.zst)
cp m.ingot.zst bad.ingot.zst
printf '\x55\x55\x55\x55' | dd of=bad.ingot.zst bs=1 seek=$((size - 40)) conv=notrunc 2>/dev/null
run unpack bad.ingot.zst -o bad.ingot
expect_exit 1
expect_stderr "ingot unpack: error:"
expect_no_file bad.ingot
expect_no_temp

run pack m.ingot.zst -o x.zst
expect_exit 1
expect_stderr "bad magic"
expect_no_file x.zst

finish
