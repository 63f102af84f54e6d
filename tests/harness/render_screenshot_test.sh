#!/usr/bin/env bash
# usage: render_screenshot_test.sh MINIMAX01 PNG_NONWHITE WORKDIR
# Produces a check, a bench and a soak report on the built-in default, renders them with `report`,
# screenshots the page in headless Chromium and checks the PNG is not blank (png_nonwhite).
# Exit 77 (CTest: skipped) when Chromium is not installed (scripts/setup-deps.sh installs it).
set -euo pipefail
mm="$1"; png="$2"; dir="$3"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then echo "SKIP: no chromium (run scripts/setup-deps.sh)"; exit 77; fi
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
"$mm" check --report check.json >/dev/null
"$mm" bench --prompt-lens 32,64 --context-lens 32,64 --decode-steps 2 --reps 3 --backends ref-f32,ref-bf16 --report bench.json >/dev/null
"$mm" soak --duration 1s --max-prompt 32 --max-decode 2 --inject nan:0.1,alloc:0.1 --report soak.json >/dev/null
"$mm" report check.json bench.json soak.json --out page.html
if grep -Eq "(src|href)=['\"]?(https?:)?//" page.html; then echo "page.html references external assets"; exit 1; fi
grep -q "<svg" page.html
# --no-sandbox: CI containers run as root; a fresh profile dir keeps runs independent.
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$dir/profile" \
  --window-size=1000,2400 --screenshot="$dir/page.png" "file://$dir/page.html" >/dev/null 2>&1 || true
[ -s page.png ] || { echo "chromium wrote no screenshot"; exit 1; }
"$png" page.png 0.03 2000
