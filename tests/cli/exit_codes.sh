#!/usr/bin/env bash
# usage: exit_codes.sh CLI TINY_DIR -- the documented exit codes (docs/harness.md, "Exit codes"):
# 0 success, 2 a wrong command line, 3 a run that failed; 1 is kept for a FAIL verdict or a regression.
set -u
cli="$1" tiny="$2" fails=0
expect() {  # expect CODE ARGS...
  local want="$1"; shift
  "$cli" "$@" >/dev/null 2>&1; local rc=$?
  if [ $rc -ne "$want" ]; then echo "FAIL: minimax01 $* exited $rc, expected $want"; fails=1; else echo "ok: $* -> $rc"; fi
}
expect 0 info --preset tiny
expect 0 --help
expect 2                                                  # no command
expect 2 frobnicate                                       # unknown command
expect 2 info --preset tiny --colour red                  # unknown option
expect 2 info --preset tiny --preset small                # repeated option
expect 2 info                                             # neither --model nor --preset
expect 2 forward --model "$tiny" --tokens 1,x             # malformed value
expect 2 compare only-one.json                            # missing argument
expect 2 forward --model "$tiny" --tokens 1 --backend tpu  # an unknown backend
expect 2 info --preset huge                               # an unknown preset
expect 3 forward --model "$tiny/../no-such-model" --tokens 1  # a missing file
expect 3 forward --model "$tiny" --tokens 1,99999         # a token outside the vocabulary
expect 3 compare "$tiny/config.json" "$tiny/config.json"  # not a report
# 1: a regression -- a baseline benchmark missing from the new Google Benchmark document
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
rep() { local n="$1" i s=""; for i in 1 2 3; do s="$s{\"name\": \"$n\", \"run_name\": \"$n\", \"run_type\": \"iteration\", \"real_time\": 1.0$i, \"time_unit\": \"ms\"},"; done; echo "$s"; }
echo "{\"context\": {}, \"benchmarks\": [$(rep BM_A) $(rep BM_B | sed 's/,$//')]}" > "$work/old.json"
echo "{\"context\": {}, \"benchmarks\": [$(rep BM_A | sed 's/,$//')]}" > "$work/new.json"
expect 0 compare "$work/old.json" "$work/old.json"
expect 1 compare "$work/old.json" "$work/new.json"
expect 0 compare "$work/old.json" "$work/new.json" --allow-missing
exit $fails
