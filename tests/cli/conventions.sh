#!/usr/bin/env bash
# usage: conventions.sh CLI TINY_DIR -- the command-line conventions (docs/harness.md, "Command line"):
# options in any order around positional arguments, `--opt=value`, --help anywhere, --version, '-' as
# standard output for reports and pages (the document alone there, the rest on standard error), and
# --json documents that parse and agree with the text output.
set -u
cli="$1" tiny="$2" fails=0
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; fails=1; }
ok() { echo "ok: $*"; }
json_get() {  # json_get FILE PYTHON-EXPRESSION-ON-d: prints the value, or fails the test on bad JSON
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>"$work/json.err" ||
    { fail "$1 is not the expected JSON: $(head -c 300 "$work/json.err")"; echo "?"; }
}

# --- a check report to render and compare (ref-f32 only, a short prompt: seconds)
"$cli" check --model "$tiny" --backends ref-f32 --prompt-len 8 --decode-steps 1 --report "$work/check.json" \
  >"$work/check.out" 2>&1 || fail "check exited $? ($(tail -3 "$work/check.out"))"

# --- options in any order, around positional arguments
"$cli" report "$work/check.json" --out "$work/after.html" >/dev/null || fail "report FILE --out exited $?"
"$cli" report --out "$work/before.html" "$work/check.json" >/dev/null || fail "report --out FILE exited $?"
"$cli" report --out="$work/eq.html" "$work/check.json" >/dev/null || fail "report --out=PAGE FILE exited $?"
cmp -s "$work/after.html" "$work/before.html" && cmp -s "$work/after.html" "$work/eq.html" &&
  ok "report: the same page with --out before, after and as --out=" || fail "report pages differ with the option's place"
"$cli" compare --threshold 0.5 "$work/check.json" --alpha 0.1 "$work/check.json" >/dev/null &&
  ok "compare: options before, between and after OLD NEW" || fail "compare with options around the reports exited $?"
"$cli" info --json --preset tiny >/dev/null && ok "info: --json before --preset" || fail "info --json --preset exited $?"

# --- --help anywhere, --version
for argv in "info --help" "info --preset tiny -h" "report --out x.html --help" "compare a b --help"; do
  # shellcheck disable=SC2086
  out=$("$cli" $argv 2>&1); rc=$?
  [ $rc -eq 0 ] && grep -q "^Usage: minimax01 ${argv%% *}" <<<"$out" && ok "$argv prints the help" ||
    fail "$argv: exit $rc, output: $(head -3 <<<"$out")"
done
"$cli" --version >"$work/version.txt" 2>&1 || fail "--version exited $?"
grep -qE "^minimax01 [0-9]+\.[0-9]+\.[0-9]+" "$work/version.txt" && grep -q "commit" "$work/version.txt" &&
  grep -q "build type" "$work/version.txt" && grep -q "SIMT" "$work/version.txt" && grep -q "CUDA" "$work/version.txt" &&
  ok "--version: $(head -1 "$work/version.txt")" || fail "--version printed: $(cat "$work/version.txt")"

# --- '-' is standard output: the page alone on stdout, the message on stderr, no file named '-'
(cd "$work" && "$cli" report "$work/check.json" --out - >"$work/stdout.html" 2>"$work/stderr.txt") || fail "report --out - exited $?"
head -c 15 "$work/stdout.html" | grep -qi "<!doctype html" && cmp -s "$work/stdout.html" "$work/after.html" &&
  ok "report --out -: the page on standard output" || fail "report --out -: standard output is not the page"
grep -q "standard output" "$work/stderr.txt" || fail "report --out -: no message on standard error"
[ -e "$work/-" ] && fail "report --out - created a file named '-'"

# --- --report -: the report alone on standard output (valid JSON, the same kind), the summary on stderr
(cd "$work" && "$cli" check --model "$tiny" --backends ref-f32 --prompt-len 8 --decode-steps 1 --report - \
  >"$work/check-stdout.json" 2>"$work/check-stderr.txt") || fail "check --report - exited $?"
[ "$(json_get "$work/check-stdout.json" "d['kind'], d['complete'], len(d['result']['backends'])")" = "check True 1" ] &&
  ok "check --report -: the report on standard output" || fail "check --report -: standard output is not the report"
grep -q "report: standard output" "$work/check-stderr.txt" || fail "check --report -: no note on standard error"
(cd "$work" && "$cli" bench --model "$tiny" --backends ref-f32 --prompt-lens 8 --context-lens 8 --reps 2 --report - \
  2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['kind'] == 'bench'") &&
  ok "bench --report - | python3: one JSON document" || fail "bench --report - is not one JSON document on standard output"
(cd "$work" && "$cli" bench --model "$tiny" --backends ref-f32 --prompt-lens 8 --context-lens 8 --reps 1 --report - \
  2>&- | python3 -c "import json,sys; json.load(sys.stdin)") &&
  ok "bench --report - with standard error closed: still one JSON document" ||
  fail "bench --report - with standard error closed is not one JSON document on standard output"
[ -e "$work/-" ] && fail "--report - created a file named '-'"
# `--` ends the options, also right after an option's value
"$cli" report --out "$work/dd.html" -- "$work/check.json" >/dev/null && cmp -s "$work/dd.html" "$work/after.html" &&
  ok "report --out PAGE -- FILE" || fail "report --out PAGE -- FILE did not render the page"
"$cli" info --preset tiny -- --json >/dev/null 2>"$work/dd.err"; rc=$?
[ $rc -eq 2 ] && grep -q "unexpected argument '--json'" "$work/dd.err" && ok "info ... -- --json: not an option after --" ||
  fail "info --preset tiny -- --json: exit $rc, $(cat "$work/dd.err")"
"$cli" forward --model "$tiny" --tokens 1,2 --dump - >/dev/null 2>"$work/dump.err"; rc=$?
[ $rc -eq 2 ] && grep -q "dump takes a file path" "$work/dump.err" && ok "forward --dump -: refused (a dump is binary)" ||
  fail "forward --dump -: exit $rc, $(cat "$work/dump.err")"

# --- forward / generate --json: one document, agreeing with the text run
"$cli" forward --model "$tiny" --tokens 1,2,3 --decode-tokens 4 --json >"$work/fwd.json" 2>/dev/null || fail "forward --json exited $?"
"$cli" forward --model "$tiny" --tokens 1,2,3 --decode-tokens 4 >"$work/fwd.txt" 2>&1 || fail "forward exited $?"
tok=$(json_get "$work/fwd.json" "d['last_prompt_position']['token'], d['prompt_tokens'], d['decode_tokens']")
grep -q "last prompt position: argmax token ${tok%% *}," "$work/fwd.txt" && [ "${tok#* }" = "3 1" ] &&
  ok "forward --json: argmax ${tok%% *}, as the text says" || fail "forward --json '$tok' disagrees with: $(cat "$work/fwd.txt")"
echo "1 2 3" | "$cli" generate --model "$tiny" --prompt-tokens-file - --max-new-tokens 4 --json >"$work/gen.json" 2>/dev/null ||
  fail "generate --json exited $?"
"$cli" generate --model "$tiny" --prompt-tokens 1,2,3 --max-new-tokens 4 >"$work/gen.txt" 2>&1 || fail "generate exited $?"
new=$(json_get "$work/gen.json" "' '.join(map(str, d['new_tokens']))")
grep -q "generated 4 tokens: $new\$" "$work/gen.txt" && ok "generate --json: tokens $new, as the text says" ||
  fail "generate --json tokens '$new' disagree with: $(head -2 "$work/gen.txt")"

# --- info --json agrees with the text
"$cli" info --preset minimax-text-01 --json >"$work/info.json" 2>"$work/info.err" || fail "info --json exited $?"
[ -s "$work/info.err" ] && fail "info --json wrote to standard error: $(head -2 "$work/info.err")"
total=$(json_get "$work/info.json" "d['parameters']['total']")
"$cli" info --preset minimax-text-01 | grep -q "parameters: total $total," && [ "$total" = 456089655296 ] &&
  ok "info --json: total $total, as the text says" || fail "info --json total '$total' disagrees with the text"
vit=$(json_get <("$cli" info --preset minimax-vl-01 --json) "d['vision_parameters']['vision_tower']")
[ "$vit" = 303505408 ] && ok "info --json (VL): vision tower $vit" || fail "info --json (VL): vision tower '$vit'"

exit $fails
