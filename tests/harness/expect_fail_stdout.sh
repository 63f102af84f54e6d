#!/usr/bin/env bash
# usage: expect_fail_stdout.sh REGEX CMD ARGS...  -- passes when CMD exits with status 1 (a verdict, not
# a crash or a usage error) and its standard output matches REGEX (e.g. the named first diverging layer).
re="$1"; shift
out=$("$@" 2>/dev/null); rc=$?
if [ $rc -ne 1 ]; then echo "expected exit 1, got $rc: $*"; echo "$out"; exit 1; fi
if ! grep -Eq -- "$re" <<<"$out"; then echo "stdout does not match /$re/:"; echo "$out"; exit 1; fi
echo "ok (exit $rc)"; grep -E -- "$re" <<<"$out"
