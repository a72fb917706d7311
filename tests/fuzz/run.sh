#!/bin/sh
# Builds every fuzz target with libFuzzer, ASan and UBSan, and runs each for
# a bounded time (first argument, seconds; default 15) on its seed corpus
# (tests/fuzz/corpus/TARGET) with its dictionary (tests/fuzz/TARGET.dict)
# when there is one. A crash fails the run and leaves the input in
# build-fuzz/. FUZZ_BUILD_ONLY=1 only builds (campaign.sh uses that).
set -eu
cd "$(dirname "$0")/../.."
SECS="${1:-15}"
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
build fuzz-lmtp tests/fuzz/fuzz-lmtp.c src/lib-lmtp/lmtp-parse.c
build fuzz-sasl tests/fuzz/fuzz-sasl.c src/lib-auth/sasl.c src/lib-auth/scram.c -lcrypto
build fuzz-config tests/fuzz/fuzz-config.c src/lib/config.c
build fuzz-acl tests/fuzz/fuzz-acl.c src/lib-acl/acl.c
[ "${FUZZ_BUILD_ONLY:-}" = 1 ] && exit 0
status=0
for t in fuzz-imap-parser fuzz-mutf7 fuzz-message fuzz-lmtp fuzz-sasl fuzz-config fuzz-acl; do
	mkdir -p "$OUT/corpus-$t"
	seeds=""
	[ -d "tests/fuzz/corpus/$t" ] && seeds="../tests/fuzz/corpus/$t"
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=../tests/fuzz/$t.dict"
	echo "fuzz: $t for ${SECS}s"
	if ! (cd "$OUT" && "./$t" -max_total_time="$SECS" -max_len=65536 -timeout=10 $dict \
		"corpus-$t" $seeds >"$t.log" 2>&1); then
		echo "fuzz: $t FAILED; see $OUT/$t.log"
		tail -40 "$OUT/$t.log"
		status=1
	fi
done
exit $status
