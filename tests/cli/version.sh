# `ingot --version`, `ingot --help` and dispatch errors.
. "$CLI_LIB"

run --version
expect_exit 0
expect_stdout "ingot "
expect_stdout "container format 1"
expect_stdout "zstd"
expect_stderr_empty

run --help
expect_exit 0
expect_stdout "Usage: ingot <command>"
expect_stdout "inspect"
expect_stdout "pack"
expect_stdout "unpack"
expect_stderr_empty

run
expect_exit 2
expect_stdout_empty
expect_stderr "Usage: ingot"

run no-such-command
expect_exit 2
expect_stderr "unknown command 'no-such-command'"

finish
