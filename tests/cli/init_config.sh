#!/usr/bin/env bash
# usage: init_config.sh CLI WORK_DIR -- init --config FILE:
#   the config from `info --json` of a preset gives byte for byte the preset's checkpoint, and so does
#   vl-tiny's config.json (a MiniMax-VL-01 config);
#   a config whose weights cannot fit the disk is refused before anything is written (under a 1 MiB
#   file-size limit, so a wrong answer fails quickly instead of filling the disk);
#   --force into the directory holding FILE as its config.json is refused (FILE is an input);
#   --preset and --config together, and neither, are usage errors.
set -uo pipefail
cli="$1" work="$2"
rm -rf "$work" && mkdir -p "$work"
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
config_of() {  # preset, python expression editing c, output file
  "$cli" info --preset "$1" --json | python3 -c "import json,sys; c=json.load(sys.stdin)['config']; $2; json.dump(c, open(sys.argv[1], 'w'))" "$3"
}

config_of tiny "pass" "$work/tiny.json"
"$cli" init --config "$work/tiny.json" --seed 4 --out "$work/a" >/dev/null && "$cli" init --preset tiny --seed 4 --out "$work/b" >/dev/null
if cmp -s "$work/a/model.safetensors" "$work/b/model.safetensors" && cmp -s "$work/a/config.json" "$work/b/config.json"; then
  ok "--config of tiny's config writes tiny's checkpoint"
else bad "--config of tiny's config differs from --preset tiny"; fi

# a MiniMax-VL-01 config.json (vl-tiny's own): the same checkpoint as the preset, vision side included
"$cli" init --preset vl-tiny --seed 5 --out "$work/vl-b" >/dev/null && cp "$work/vl-b/config.json" "$work/vl.json" &&
  "$cli" init --config "$work/vl.json" --seed 5 --out "$work/vl-a" >/dev/null
same=1
for f in config.json preprocessor_config.json model.safetensors; do cmp -s "$work/vl-a/$f" "$work/vl-b/$f" || same=0; done
if [ $same -eq 1 ]; then ok "--config of vl-tiny's config.json writes vl-tiny's checkpoint"
else bad "--config of vl-tiny's config.json differs from --preset vl-tiny"; fi
out=$("$cli" init --config "$work/vl.json" --layers 1 --out "$work/vl-c" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "init: --layers writes text models; .*vl.json is a MiniMax-VL-01 config" <<<"$out"; then
  ok "--layers with a VL config: usage error"
else bad "--layers with a VL config: exit $rc, '$out'"; fi

# 1024 layers of 1024 real-size experts in f32: about 7e14 bytes, more than any disk
config_of minimax-text-01 "c['num_hidden_layers']=1024; c['attn_type_list']=[0]*1024; c['num_local_experts']=1024" "$work/huge.json"
out=$( (ulimit -f 1024; "$cli" init --config "$work/huge.json" --dtype f32 --out "$work/huge") 2>&1); rc=$?
if [ $rc -eq 3 ] && grep -q "init: the weights of .*huge.json take [0-9]* bytes (.* GiB) but .* has [0-9]* bytes free" <<<"$out" &&
   [ -z "$(ls -A "$work/huge" 2>/dev/null)" ]; then ok "a config larger than the disk is refused before writing"
else bad "huge config: exit $rc, '$out'"; fi

out=$("$cli" init --config "$work/a/config.json" --out "$work/a" --force 2>&1); rc=$?
if [ $rc -eq 3 ] && grep -q "this is an input of the run" <<<"$out" && cmp -s "$work/a/config.json" "$work/b/config.json"; then
  ok "--force over FILE's own directory is refused and FILE is untouched"
else bad "overwrite of the input config: exit $rc, '$out'"; fi

for args in "--preset tiny --config $work/tiny.json" ""; do
  out=$("$cli" init $args --out "$work/c" 2>&1); rc=$?
  if [ $rc -eq 2 ] && grep -q "give exactly one of --preset NAME or --config FILE" <<<"$out"; then ok "init $args: usage error"
  else bad "init $args: exit $rc, '$out'"; fi
done
exit $((fails > 0))
