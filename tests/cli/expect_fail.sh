#!/usr/bin/env bash
# usage: expect_fail.sh REGEX CMD ARGS...  -- passes when CMD exits 2 (usage error) or 3 (runtime error)
# and its stderr matches REGEX (a clear message, never a crash). Exit 1 means "verdict FAIL / regression"
# (docs/harness.md, "Exit codes"): bad input must never look like one.
re="$1"; shift
err=$("$@" 2>&1 >/dev/null); rc=$?
if [ $rc -eq 0 ]; then echo "expected failure, got exit 0: $*"; exit 1; fi
if [ $rc -ge 128 ]; then echo "crashed with signal $((rc-128)): $*"; echo "$err"; exit 1; fi
if grep -q "internal error:" <<<"$err"; then echo "an internal error (a bug), not a refusal: $*"; echo "$err"; exit 1; fi
if [ $rc -ne 2 ] && [ $rc -ne 3 ]; then echo "expected exit 2 or 3 (usage / runtime error), got $rc: $*"; echo "$err"; exit 1; fi
if ! grep -Eq -- "$re" <<<"$err"; then echo "stderr does not match /$re/:"; echo "$err"; exit 1; fi
echo "ok (exit $rc): $err"
