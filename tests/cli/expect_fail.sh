#!/usr/bin/env bash
# usage: expect_fail.sh REGEX CMD ARGS...  -- passes when CMD exits non-zero (but not by a signal)
# and its stderr matches REGEX (a clear message, never a crash).
re="$1"; shift
err=$("$@" 2>&1 >/dev/null); rc=$?
if [ $rc -eq 0 ]; then echo "expected failure, got exit 0: $*"; exit 1; fi
if [ $rc -ge 128 ]; then echo "crashed with signal $((rc-128)): $*"; echo "$err"; exit 1; fi
if ! grep -Eq -- "$re" <<<"$err"; then echo "stderr does not match /$re/:"; echo "$err"; exit 1; fi
echo "ok (exit $rc): $err"
