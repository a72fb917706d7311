#!/bin/sh
# Runs the whole test suite: unit tests (with ASan and UBSan), the fuzz
# targets for a bounded time, and the protocol tests against the real
# agorad built with sanitizers.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh --test
# The plain build (what `meson compile -C build` gives packagers).
[ -f build/build.ninja ] || meson setup build
meson compile -C build
# The test build: sanitizers on.
[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
meson compile -C build-asan
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
meson test -C build-asan --print-errorlogs
sh tests/fuzz/run.sh "${FUZZ_SECONDS:-15}"
# Every tool the tests drive is installed above: none may be skipped.
AGORA_TEST_STRICT=1 AGORA_BUILD="$(pwd)/build-asan" /usr/bin/python3 -m pytest -q tests/proto "$@"
