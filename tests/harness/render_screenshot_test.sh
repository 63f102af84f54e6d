#!/usr/bin/env bash
# usage: render_screenshot_test.sh MINIMAX01 PNG_NONWHITE WORKDIR
# Produces a failing check (a perturbed layer, so the page draws a failing tensor above its bound
# line), a passing check, a bench and a soak report on the built-in default, renders them with `report`,
# screenshots the page in headless Chromium and checks the PNG is not blank (png_nonwhite). The page's
# structure against its JSON is tested in-process (html_report_test.cpp); page.png is the one to look at.
# Exit 77 (CTest: skipped) when Chromium is not installed (scripts/setup-deps.sh installs it).
set -euo pipefail
mm="$1"; png="$2"; dir="$3"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then echo "SKIP: no chromium (run scripts/setup-deps.sh)"; exit 77; fi
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
# exit 1: the verdict is FAIL, as intended
rc=0; "$mm" check --backends ref-f32 --perturb 1:5e-2 --report check-fail.json >/dev/null || rc=$?
[ "$rc" = 1 ] || { echo "perturbed check exited $rc, expected 1 (FAIL)"; exit 1; }
"$mm" check --report check.json >/dev/null
"$mm" bench --prompt-lens 32,64 --context-lens 32,64 --decode-steps 2 --reps 3 --backends ref-f32,ref-bf16 --report bench.json >/dev/null
"$mm" soak --duration 1s --max-prompt 32 --max-decode 2 --inject nan:0.1,alloc:0.1 --report soak.json >/dev/null
"$mm" report check-fail.json check.json bench.json soak.json --out page.html
if grep -Eq "(src|href)=['\"]?(https?:)?//" page.html; then echo "page.html references external assets"; exit 1; fi
grep -q "<svg" page.html
# the failing layer's point and the bound line it is drawn against; the sortable tables
grep -q "class='pt' [^>]*data-pass='0'" page.html || { echo "no failing tensor drawn"; exit 1; }
grep -q "class='bound-line'" page.html && grep -q "class='sortable summary'" page.html
# --no-sandbox: CI containers run as root; a fresh profile dir keeps runs independent.
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$dir/profile" \
  --window-size=1000,2400 --screenshot="$dir/page.png" "file://$dir/page.html" >/dev/null 2>&1 || true
[ -s page.png ] || { echo "chromium wrote no screenshot"; exit 1; }
"$png" page.png 0.03 2000
