#!/bin/sh
# A long fuzz campaign: runs each named target (default: all that run.sh
# builds) at nice 19 until its process has used CPU_SECS of CPU time
# (default 1800, i.e. 30 CPU-minutes), then stops it with SIGINT so libFuzzer
# prints its final statistics. Targets run side by side; each writes
# $DIR/TARGET.log and keeps its growing corpus in $DIR/corpus-TARGET.
# A finding leaves TARGET-crash-* (or -timeout-, -oom-, -leak-) in $DIR and is
# reported, as is a fuzzer that stops before its budget; the exit status is
# then 1. -j N runs N targets at a time (default: all at once).
# The per-input timeout is long (-timeout=1500): the campaign may be paused
# with SIGSTOP (while benchmarks run) without that counting as a hang.
#   sh tests/fuzz/campaign.sh [-s CPU_SECS] [-d DIR] [-j N] [TARGET...]
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
CPU_SECS=1800
DIR=$ROOT/build-fuzz/campaign
JOBS=0
while getopts s:d:j: o; do
	case $o in
	s) CPU_SECS=$OPTARG ;;
	d) DIR=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	*) echo "usage: campaign.sh [-s CPU_SECS] [-d DIR] [-j N] [TARGET...]" >&2; exit 2 ;;
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
	(cd "$DIR" && exec nice -n 19 "$ROOT/build-fuzz/$t" -max_len=65536 -timeout=1500 $dict \
		-artifact_prefix="$t-" -print_final_stats=1 "corpus-$t" $seeds >"$t.log" 2>&1) &
	sub=$!
	# the subshell execs the fuzzer, so $sub is the fuzzer's pid
	used=0
	reached=0
	while kill -0 "$sub" 2>/dev/null; do
		used=$(awk -v t="$ticks" '{print int(($14 + $15) / t)}' "/proc/$sub/stat" 2>/dev/null || echo "$used")
		if [ "$used" -ge "$CPU_SECS" ]; then
			reached=1
			kill -INT "$sub" 2>/dev/null || true
			break
		fi
		sleep 10
	done
	wait "$sub" || true
	runs=$(grep -E '^stat::number_of_executed_units' "$DIR/$t.log" | awk '{print $2}')
	if [ "$reached" = 0 ] || grep -qE "ERROR: |SUMMARY: " "$DIR/$t.log"; then
		echo "campaign: $t STOPPED AFTER ${used}s CPU: a finding (see $DIR/$t.log and $DIR/$t-*)"
		return 1
	fi
	echo "campaign: $t: ${runs:-?} runs in ${used}s CPU, no crash, no hang, no leak"
}
status=0
set -- "$@"
[ "$JOBS" -gt 0 ] || JOBS=$#
while [ $# -gt 0 ]; do
	pids=""
	n=0
	while [ $# -gt 0 ] && [ $n -lt "$JOBS" ]; do
		run_one "$1" > "$DIR/$1.result" 2>&1 &
		pids="$pids $!"
		n=$((n + 1))
		shift
	done
	for p in $pids; do wait "$p" || status=1; done
done
cat "$DIR"/*.result
exit $status
