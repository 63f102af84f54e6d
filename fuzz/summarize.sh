#!/usr/bin/env bash
# Tabulates the runs kept by `fuzz/run.sh --keep DIR` (docs/fuzzing.md, "Long runs"): per target the
# executions, executions per second, final coverage (cov = edges, ft = features), corpus size, peak
# memory, start date and result (libFuzzer's exit status; a finding names its reproducer).
#   fuzz/summarize.sh DIR
set -euo pipefail
dir=${1:?usage: fuzz/summarize.sh DIR (a directory given to fuzz/run.sh --keep)}
echo "| target | executions | exec/s | cov | ft | corpus | peak RSS | started (UTC) | time | result |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for d in "$dir"/*/; do
  t=$(basename "$d")
  log="$d/log"
  [ -f "$log" ] || continue
  stat() { grep -E "^stat::$1:" "$log" | tail -1 | awk '{print $2}' || true; }
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  field() { echo "$last" | grep -oE "$1: [0-9]+[A-Za-z]*(/[0-9]+[A-Za-z]*)?" | head -1 | sed "s|^$1: ||" || true; }
  runs=$(stat number_of_executed_units); runs=${runs:-$(echo "$last" | sed -E 's/^#([0-9]+).*/\1/')}
  eps=$(stat average_exec_per_sec); eps=${eps:-$(field exec/s)}
  rss=$(stat peak_rss_mb); rss=${rss:-$(field rss | sed 's/Mb$//')}
  files=$(find "$d/corpus" -type f | wc -l)
  bytes=$(( $(du -sb "$d/corpus" | awk '{print $1}') / 1024 ))
  started=$(cat "$d/started" 2>/dev/null || echo "?")
  if [ -f "$d/finished" ]; then
    secs=$(( $(date -d "$(cat "$d/finished")" +%s) - $(date -d "$started" +%s) ))
    rc=$(cat "$d/rc")
    if [ "$rc" = 0 ]; then result="no finding"
    else result="FINDING (exit $rc): $(cd "$d" && ls crash-* leak-* timeout-* oom-* 2>/dev/null | tr '\n' ' ')"; fi
  else
    secs=$(( $(date +%s) - $(date -d "$started" +%s) )); result="running"
  fi
  echo "| $t | $runs | $eps | $(field cov) | $(field ft) | $files files, $bytes KiB | ${rss} MiB | $started | ${secs} s | $result |"
done
