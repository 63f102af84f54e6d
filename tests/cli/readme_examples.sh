#!/usr/bin/env bash
# usage: readme_examples.sh SOURCE_DIR CLI WORK_DIR -- runs every line of README.md's `minimax01` block
# ("## The `minimax01` command"), in order, as a user would from the repository's root: each must exit 0.
# The work directory stands in for the root (golden/ linked from the source tree), so the checkpoints,
# reports and dumps the examples write stay out of the tree; $B is this build's minimax01.
set -u
src="$1" cli="$2" work="$3"
rm -rf "$work" && mkdir -p "$work" && ln -s "$src/golden" "$work/golden"
block=$(awk '/^## The `minimax01` command/{s=1} s&&/^```bash/{f=1; next} f&&/^```/{exit} f' "$src/README.md")
[ -n "$block" ] || { echo "FAIL: no \`minimax01\` command block in $src/README.md"; exit 1; }
grep -q '^B=build/release/cli/minimax01$' <<<"$block" || { echo "FAIL: the block does not start with B=build/release/cli/minimax01"; exit 1; }
export B="$cli"
n=0 fails=0
while IFS= read -r line; do
  case "$line" in ''|B=*|'#'*) continue ;; esac
  n=$((n + 1))
  start=$(date +%s%N)
  if (cd "$work" && bash -o pipefail -c "$line") >"$work/out.$n" 2>&1; then
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf 'ok (%d.%01d s): %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "${line%%  #*}"
  else
    echo "FAIL (exit $?): $line"; tail -5 "$work/out.$n" | sed 's/^/    /'; fails=$((fails + 1))
  fi
done <<<"$block"
# '-' is standard output, never a file of that name.
[ -e "$work/-" ] && { echo "FAIL: an example wrote a file named '-'"; fails=$((fails + 1)); }
echo "$n README examples, $fails failed"
[ "$n" -ge 10 ] || { echo "FAIL: only $n examples found"; exit 1; }
exit $((fails > 0))
