#!/bin/sh
# A long fuzz campaign: runs each named target (default: all that run.sh
# builds) at nice 19 until its process has used CPU_SECS of CPU time
# (default 1800, i.e. 30 CPU-minutes), then stops it with SIGINT so libFuzzer
# prints its final statistics. Targets run side by side; each writes
# $DIR/TARGET.log and keeps its growing corpus in $DIR/corpus-TARGET.
# A crash leaves crash-* in $DIR and is reported; the exit status is 1.
#   sh tests/fuzz/campaign.sh [-s CPU_SECS] [-d DIR] [TARGET...]
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
CPU_SECS=1800
DIR=$ROOT/build-fuzz/campaign
while getopts s:d: o; do
	case $o in
	s) CPU_SECS=$OPTARG ;;
	d) DIR=$OPTARG ;;
	*) echo "usage: campaign.sh [-s CPU_SECS] [-d DIR] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
FUZZ_BUILD_ONLY=1 sh tests/fuzz/run.sh
[ $# -gt 0 ] || set -- $(cd build-fuzz && ls fuzz-* | grep -v '\.log$')
mkdir -p "$DIR"
ticks=$(getconf CLK_TCK)
run_one() {
	t=$1
	mkdir -p "$DIR/corpus-$t"
	seeds=""
	[ -d "tests/fuzz/corpus/$t" ] && seeds="$ROOT/tests/fuzz/corpus/$t"
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=$ROOT/tests/fuzz/$t.dict"
	(cd "$DIR" && exec nice -n 19 "$ROOT/build-fuzz/$t" -max_len=65536 -timeout=10 $dict \
		-print_final_stats=1 "corpus-$t" $seeds >"$t.log" 2>&1) &
	sub=$!
	# the subshell execs the fuzzer, so $sub is the fuzzer's pid
	while kill -0 "$sub" 2>/dev/null; do
		used=$(awk -v t="$ticks" '{print int(($14 + $15) / t)}' "/proc/$sub/stat" 2>/dev/null || echo 0)
		if [ "$used" -ge "$CPU_SECS" ]; then
			kill -INT "$sub" 2>/dev/null || true
			break
		fi
		sleep 10
	done
	wait "$sub" || true
	if ls "$DIR"/crash-* "$DIR"/leak-* "$DIR"/timeout-* >/dev/null 2>&1 && grep -q "ERROR: " "$DIR/$t.log"; then
		echo "campaign: $t FOUND A CRASH (see $DIR/$t.log)"
		return 1
	fi
	echo "campaign: $t: $(grep -E '^stat::number_of_executed_units' "$DIR/$t.log" | awk '{print $2}') runs in ${used}s CPU, no crash"
}
status=0
pids=""
for t in "$@"; do
	run_one "$t" > "$DIR/$t.result" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || status=1; done
cat "$DIR"/*.result
exit $status
