#!/bin/sh
# make_vl_vision_heads.sh SRC DST HIDDEN HEADS: a copy of the VL checkpoint SRC whose config.json gives the
# vision tower HIDDEN / HEADS instead (the tensors no longer match it: only a check made from the config,
# before the weights are read, can see it).
set -e
rm -rf "$2"
cp -r "$1" "$2"
awk -v hidden="$3" -v heads="$4" '/"vision_config"/ { v = 1 }
     v && /"hidden_size"/ { sub(/[0-9]+/, hidden) }
     v && /"num_attention_heads"/ { sub(/[0-9]+/, heads) }
     { print }' "$1/config.json" > "$2/config.json"
