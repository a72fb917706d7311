#!/bin/sh
# Builds every fuzz target with libFuzzer, ASan and UBSan, and runs each for
# a bounded time (first argument, seconds; default 20) on its seed corpus.
# A crash fails the run and leaves the input in build-fuzz/.
set -eu
cd "$(dirname "$0")/../.."
SECS="${1:-20}"
OUT=build-fuzz
mkdir -p "$OUT"
CC="clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -Isrc"
LIB="src/lib/str.c src/lib/xalloc.c src/lib/pool.c"
MAIL=$(ls src/lib-mail/*.c | grep -v -e '/test-' -e '/fuzz-')
build() {
	name=$1; shift
	$CC -o "$OUT/$name" "$@" $LIB
}
build fuzz-imap-parser tests/fuzz/fuzz-imap-parser.c src/lib-imap/imap-parser.c
build fuzz-mutf7 src/lib-imap/fuzz-mutf7.c src/lib-imap/mutf7.c
build fuzz-message src/lib-mail/fuzz-message.c $MAIL
[ "${FUZZ_BUILD_ONLY:-}" = 1 ] && exit 0
status=0
for t in fuzz-imap-parser fuzz-mutf7 fuzz-message; do
	mkdir -p "$OUT/corpus-$t"
	seeds=""
	[ -d "tests/fuzz/corpus/$t" ] && seeds="../tests/fuzz/corpus/$t"
	echo "fuzz: $t for ${SECS}s"
	if ! (cd "$OUT" && "./$t" -max_total_time="$SECS" -max_len=65536 -timeout=10 \
		"corpus-$t" $seeds >"$t.log" 2>&1); then
		echo "fuzz: $t FAILED; see $OUT/$t.log"
		tail -40 "$OUT/$t.log"
		status=1
	fi
done
exit $status
