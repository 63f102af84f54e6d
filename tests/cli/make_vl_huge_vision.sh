#!/bin/sh
# make_vl_huge_vision.sh SRC DST: a copy of the VL checkpoint SRC whose config.json claims a vision tower
# far larger than any test machine (1024 layers of intermediate size 1048576, ~279 GB in fp32): loading it
# must be refused by the memory check before any allocation.
set -e
rm -rf "$2"
cp -r "$1" "$2"
awk '/"vision_config"/ { v = 1 }
     v && /"intermediate_size"/ { sub(/[0-9]+/, "1048576") }
     v && /"num_hidden_layers"/ { sub(/[0-9]+/, "1024") }
     { print }' "$1/config.json" > "$2/config.json"
