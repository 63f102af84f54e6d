#!/usr/bin/env python3
"""Markdown summary of a GPU kit run (scripts/gpu-kit.sh run): the kernel benchmarks' Google Benchmark
JSONs judged against the issue-5 targets, plus the run's stages, tests and minimax01 check/bench.

    gpu_summary.py [--out summary.md] [--kit-info KIT_INFO] [--stages stages.tsv] [--gpu-csv gpu.csv]
                   [--ctest-log F] [--check-log F] [--cli-bench-log F] [--check-vl-log F]
                   [--bench-vl-log F] [--min-mb 32]
                   [--moe-min-tokens 4096] [--card NAME] [--date D] [--commit C]  JSON|DIR ...

Reads the counter scheme of bench/gpu/gpu_bench_util.h (bench/gpu/README.md): us, GB/s | TFLOP/s,
copy_GB/s | cublas_TFLOP/s, pct_of_ceiling. With --benchmark_repetitions the "median" aggregate is
used; otherwise the iteration entries (their median if several). Python 3 standard library only.

Exit status: 0 summary written (MISSED targets do not fail it), 1 usage error / no input, 2 malformed
input (the message names the file).
"""
import argparse
import csv
import json
import os
import re
import statistics
import sys
from datetime import datetime, timezone

# The issue-5 targets. kind "copy": pct_of_ceiling against the same-run device-to-device copy;
# "cublas": against the same-run cuBLAS GEMM. `judge` says which shapes the target applies to.
TARGETS = [
    ("rmsnorm_bench", "BM_rmsnorm", "RMSNorm", "copy", 85.0, "mb"),
    ("embedding_bench", "BM_embedding", "embedding gather", "copy", 85.0, "mb"),
    ("lightning_norm_gate_bench", "BM_norm_gate", "norm-gate (lightning output)", "copy", 85.0, "mb"),
    ("lightning_norm_gate_bench", "BM_silu", "silu (qkv)", "copy", 85.0, "mb"),
    ("softmax_attention_bench", "BM_RopeAppend", "rope append", "copy", 85.0, "mb"),
    ("moe_bench", "BM_Step", "MoE routing steps", "copy", 85.0, "mb"),
    ("lightning_attention_bench", "BM_Decode", "lightning decode", "copy", 80.0, "mb"),
    ("softmax_attention_bench", "BM_Decode", "softmax decode", "copy", 80.0, "mb"),
    ("softmax_attention_bench", "BM_Prefill", "flash-attention prefill (hd 128, causal, 8K)", "cublas", 45.0, "s8k"),
    ("moe_bench", "BM_GroupedFfn", "MoE grouped GEMM", "cublas", 60.0, "moe"),
    # MiniMax-VL-01's vision tower (issue "VL part 3"): attention at a 19-crop image, the row passes
    ("vision_attention_bench", "BM_VisionAttention", "vision attention (19 x 577 rows, d 64)", "cublas", 50.0, "c19"),
    ("layer_norm_bench", "BM_layer_norm", "vision LayerNorm", "copy", 85.0, "mb"),
    ("vision_mlp_bench", "BM_vision_mlp_epilogue", "vision bias / GELU / residual epilogues", "copy", 85.0, "mb"),
    ("vl_projector_bench", "BM_splice", "VL packing and splice", "copy", 85.0, "mb"),
]
CEILING_NAME = {"copy": "copy", "cublas": "cuBLAS"}


class InputError(Exception):
    pass


def fail(msg, code=2):
    print(f"gpu_summary: error: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="*", help="Google Benchmark JSON files or directories of them")
    p.add_argument("--out", help="write the markdown here (default: stdout)")
    p.add_argument("--kit-info")
    p.add_argument("--stages")
    p.add_argument("--gpu-csv")
    p.add_argument("--ctest-log")
    p.add_argument("--check-log")
    p.add_argument("--cli-bench-log")
    p.add_argument("--check-vl-log")
    p.add_argument("--bench-vl-log")
    p.add_argument("--min-mb", type=float, default=32.0,
                   help="memory-bound targets are judged only at >= this much traffic per call (default 32 MB)")
    p.add_argument("--moe-min-tokens", type=int, default=4096,
                   help="the grouped-GEMM target is judged only at T >= this (default 4096)")
    p.add_argument("--card")
    p.add_argument("--date")
    p.add_argument("--commit")
    return p.parse_args(argv)


# ---- reading -----------------------------------------------------------------------------------------

def read_key_values(path):
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), v.strip())
    return out


def read_text(path):
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def load_bench_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: malformed JSON (line {e.lineno}, column {e.colno}: {e.msg})")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise InputError(f"{path}: not a Google Benchmark JSON (no top-level 'benchmarks' list)")
    ctx = data.get("context")
    if not isinstance(ctx, dict):
        raise InputError(f"{path}: not a Google Benchmark JSON (no 'context' object)")
    for i, b in enumerate(data["benchmarks"]):
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise InputError(f"{path}: benchmarks[{i}] has no name")
    return data


def binary_of(path, ctx):
    exe = ctx.get("executable")
    if isinstance(exe, str) and exe:
        return os.path.basename(exe)
    return os.path.basename(path).split(".")[0]


def parse_name(run_name):
    """'BM_rmsnorm/version:1/tokens:16/residual:0/manual_time' -> family, {arg: value}, shape key."""
    parts = [p for p in run_name.split("/") if p not in ("manual_time", "real_time")]
    family, args, shape = parts[0], {}, []
    for i, p in enumerate(parts[1:]):
        if ":" in p:
            k, v = p.split(":", 1)
        else:
            k, v = f"arg{i}", p
        args[k] = v
        if k != "version":
            shape.append(p)
    return family, args, "/".join(shape)


def median_entry(entries):
    if len(entries) == 1:
        return dict(entries[0])
    out = dict(entries[0])
    for k, v in entries[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            vals = [e[k] for e in entries if isinstance(e.get(k), (int, float))]
            out[k] = statistics.median(vals)
    return out


def collect_rows(path, data):
    """One row per benchmark instance: its counters (median aggregate if present), or its error."""
    ctx = data["context"]
    binary = binary_of(path, ctx)
    groups = {}
    for b in data["benchmarks"]:
        rn = b.get("run_name") or re.sub(r"_(mean|median|stddev|cv)$", "", b["name"])
        groups.setdefault(rn, []).append(b)
    rows = []
    for rn, entries in groups.items():
        family, args, shape = parse_name(rn)
        row = {"file": path, "binary": binary, "name": rn, "family": family, "args": args, "shape": shape,
               "label": next((e.get("label") for e in entries if e.get("label")), "")}
        errs = [e for e in entries if e.get("error_occurred")]
        med = [e for e in entries if e.get("run_type") == "aggregate" and e.get("aggregate_name") == "median"]
        its = [e for e in entries if e.get("run_type", "iteration") == "iteration" and not e.get("error_occurred")]
        if med:
            c = med[0]
            row["reps"] = c.get("repetitions", 1)
        elif its:
            c = median_entry(its)
            row["reps"] = len(its)
        else:
            row["error"] = (errs[0].get("error_message") if errs else None) or "no result"
            rows.append(row)
            continue
        row["counters"] = c
        if "cublas_TFLOP/s" in c:
            kind, ach_key, ceil_key = "cublas", "TFLOP/s", "cublas_TFLOP/s"
        elif "copy_GB/s" in c:
            kind, ach_key, ceil_key = "copy", "GB/s", "copy_GB/s"
        else:
            kind = None
        row["kind"] = kind
        if kind:
            if ach_key not in c:
                raise InputError(f"{path}: benchmark {rn}: has {ceil_key} but no {ach_key} counter "
                                 "(counter scheme: bench/gpu/gpu_bench_util.h)")
            row["achieved"], row["ceiling"] = float(c[ach_key]), float(c[ceil_key])
            if "pct_of_ceiling" in c:
                row["pct"] = float(c["pct_of_ceiling"])
            elif row["ceiling"] > 0:
                row["pct"] = 100.0 * row["achieved"] / row["ceiling"]
            else:
                raise InputError(f"{path}: benchmark {rn}: ceiling {ceil_key} is {row['ceiling']}")
        if "us" in c:
            row["us"] = float(c["us"])
        elif "real_time" in c:
            scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}.get(c.get("time_unit", "ns"), 1e-3)
            row["us"] = float(c["real_time"]) * scale
        rows.append(row)
    return ctx, rows


# ---- judging -----------------------------------------------------------------------------------------

def target_of(row):
    for binary, family, title, kind, need, judge in TARGETS:
        if row["binary"] == binary and row["family"] == family:
            return {"binary": binary, "family": family, "title": title, "kind": kind, "need": need, "judge": judge}
    return None


def judged(row, t, opt):
    """(True, '') when the target applies to this row's shape, else (False, why not)."""
    c = row.get("counters", {})
    if t["judge"] == "mb":
        mb = c.get("MB")
        if mb is not None and float(mb) < opt.min_mb:
            return False, f"{float(mb):.3g} MB < {opt.min_mb:g} MB: latency/L2-sized"
        return True, ""
    if t["judge"] == "c19":
        return (True, "") if row["args"].get("crops") == "19" else (False, "target at 19 crops")
    if t["judge"] == "s8k":
        s = row["args"].get("S")
        return (True, "") if s == "8192" else (False, "target at S = 8192")
    if t["judge"] == "moe":
        try:
            tok = int(row["args"].get("T", "0"))
        except ValueError:
            tok = 0
        if tok >= opt.moe_min_tokens:
            return True, ""
        return False, f"memory-bound at T < {opt.moe_min_tokens}: see the copy %"
    return True, ""


def fmt_time(us):
    if us is None:
        return "—"
    if us >= 1000:
        return f"{us / 1000:.3g} ms"
    return f"{us:.3g} µs"


def fmt_rate(v, kind):
    if v is None:
        return "—"
    return f"{v:.4g} TFLOP/s" if kind == "cublas" else f"{v:.4g} GB/s"


def esc(s):
    return str(s).replace("|", "\\|")


# ---- sections ----------------------------------------------------------------------------------------

def header(opt, kit, gpu_rows, contexts, stale):
    card = opt.card
    driver = None
    if gpu_rows:
        card = card or gpu_rows[0].get("name")
        driver = gpu_rows[0].get("driver_version")
    if not card:
        seen = [c.get("gpu") for c in contexts if c.get("gpu")]
        card = next((g for g in seen if not g.startswith("none")), None) or (seen[0] if seen else "unknown")
    date = opt.date or next((c.get("date") for c in contexts if c.get("date")), None) \
        or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    commit = opt.commit or kit.get("commit_short") or kit.get("commit") or "unknown"
    lines = [f"# GPU kit run: {card}, {date[:10]}", ""]
    lines.append(f"- **Card**: {card}" + (f", driver {driver}" if driver else ""))
    if gpu_rows:
        g = gpu_rows[0]
        keys = [k for k in g if k not in ("name", "driver_version")]
        lines.append("- **nvidia-smi**: " + ", ".join(f"{k} {g[k]}" for k in keys))
    ctx_gpu = next((c for c in contexts if c.get("gpu_sms")), None)
    if ctx_gpu:
        lines.append(f"- **CUDA view**: {ctx_gpu.get('gpu')}, {ctx_gpu.get('gpu_sms')} SMs, cc {ctx_gpu.get('gpu_cc')}, "
                     f"L2 {ctx_gpu.get('gpu_l2_MB')} MB, theoretical {ctx_gpu.get('gpu_mem_GBps_theoretical')} GB/s, "
                     f"runtime {ctx_gpu.get('cuda_runtime')}, driver API {ctx_gpu.get('cuda_driver')}")
    lines.append(f"- **Date**: {date}")
    dirty = kit.get("dirty_files")
    lines.append(f"- **Commit**: {commit}" + (f" ({dirty} modified tracked files)" if dirty not in (None, "0") else ""))
    if kit:
        lines.append(f"- **Kit**: prepared {kit.get('date', '?')} in {kit.get('source_dir', '?')}, nvcc {kit.get('nvcc', '?')}, "
                     f"{kit.get('cuda_flags', '').strip()}")
    if stale:
        lines.append("- **WARNING: stale kit**: the sources changed after `gpu-kit.sh prepare`; these results are "
                     "for the kit's build, not for the tree it was run from.")
    return card, lines


def stages_section(path):
    text = read_text(path)
    if not text:
        return []
    lines = ["", "## Stages", "", "| stage | status | s | note |", "|---|---|---|---|"]
    for ln in text.splitlines():
        parts = ln.split("\t")
        if len(parts) >= 2:
            parts += [""] * (4 - len(parts))
            lines.append("| " + " | ".join(esc(p) for p in parts[:4]) + " |")
    return lines


def ctest_section(path):
    text = read_text(path)
    if text is None:
        return []
    lines = ["", "## Tests (ctest -L 'gpu|optimized|ptxas')", ""]
    m = re.search(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)", text)
    lines.append(f"- {m.group(0)}" if m else "- no ctest result line (did ctest run to the end?)")
    skipped = re.findall(r"^\s*\d+ - (\S+) \(Skipped\)", text, re.M)
    if skipped:
        lines.append(f"- skipped ({len(skipped)}): " + ", ".join(skipped[:20]) + (" ..." if len(skipped) > 20 else ""))
    failed = re.findall(r"^\s*\d+ - (\S+) \((Failed|Timeout|Not Run|SEGFAULT|Subprocess aborted|Exception)[^)]*\)", text, re.M)
    if failed:
        lines.append("- **FAILED**: " + ", ".join(f"{n} ({why})" for n, why in failed))
    return lines


def check_section(path, title="minimax01 check (preset tiny, against ref-f64)", log="logs/check.log"):
    text = read_text(path)
    if text is None:
        return []
    lines = ["", f"## {title}", ""]
    got = [ln.strip() for ln in text.splitlines() if re.match(r"^\s+\S+\s+(PASS|FAIL|ERROR|SKIPPED)\b", ln)
           or ln.startswith("check:")]
    lines += [f"- {esc(g)}" for g in got] or [f"- no verdict in the log (see {log})"]
    return lines


def cli_bench_section(path, title="minimax01 bench --backends cuda (preset tiny)"):
    text = read_text(path)
    if text is None:
        return []
    body = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("report:") and not ln.startswith("[bench")]
    return ["", f"## {title}", "", "```"] + body[-30:] + ["```"]


def vision_tower_line(path):
    """The 19-crop image's vision time (tower + projector + splice) from bench's image row: per crop x crops."""
    text = read_text(path)
    if text is None:
        return []
    for ln in text.splitlines():
        m = re.search(r"(\d+)x(\d+)\s+(\d+) crops.*\|\s*([0-9.]+) ms", ln)
        if m:
            crops, per = int(m.group(3)), float(m.group(4))
            return ["", f"**Vision tower + projector, {m.group(1)}x{m.group(2)} image ({crops} crops): "
                        f"{per * crops:.3g} ms** ({per:.3g} ms per crop, p50)."]
    return ["", "- no image row in the VL bench log (see logs/bench-vl.log)"]


def main(argv):
    opt = parse_args(argv)
    files = []
    for inp in opt.inputs:
        if os.path.isdir(inp):
            files += sorted(os.path.join(inp, f) for f in os.listdir(inp) if f.endswith(".json"))
        elif os.path.exists(inp):
            files.append(inp)
        else:
            fail(f"{inp}: no such file", 1)
    kit = read_key_values(opt.kit_info)
    gpu_rows = []
    gtext = read_text(opt.gpu_csv)
    if gtext and gtext.strip() and gtext.strip() != "none" and "," in gtext:
        rdr = csv.DictReader(gtext.strip().splitlines(), skipinitialspace=True)
        gpu_rows = [{re.sub(r"\s*\[.*\]$", "", k.strip()): (v or "").strip() for k, v in r.items() if k} for r in rdr]

    contexts, rows = [], []
    try:
        for f in files:
            data = load_bench_json(f)
            ctx, rs = collect_rows(f, data)
            contexts.append(ctx)
            rows += rs
    except InputError as e:
        fail(str(e), 2)
    if not files and not (opt.stages or opt.ctest_log or opt.check_log):
        fail("no input: give Google Benchmark JSON files (or the run's logs)", 1)

    card, out = header(opt, kit, gpu_rows, contexts, kit.get("stale_kit") == "1")
    out += stages_section(opt.stages)

    # Judge every row; then the best version per (target, shape).
    for r in rows:
        t = target_of(r)
        r["target"] = t
        r["verdict"], r["why"] = "—", ""
        if r.get("error"):
            r["verdict"] = "skipped"
            continue
        if t and r.get("kind") != t["kind"]:
            fail(f"{r['file']}: benchmark {r['name']}: expected a {t['kind']} ceiling "
                 f"({'cublas_TFLOP/s' if t['kind'] == 'cublas' else 'copy_GB/s'})", 2)
        if t:
            ok, why = judged(r, t, opt)
            if ok:
                r["verdict"] = "MET" if r["pct"] >= t["need"] else "MISSED"
            else:
                r["why"] = why

    out += ["", "## Issue-5 targets (best version per shape)", ""]
    out += ["| target | shape | best version | median | achieved | ceiling | % of ceiling | needed | verdict |",
            "|---|---|---|---|---|---|---|---|---|"]
    counts = {"MET": 0, "MISSED": 0, "NOT MEASURED": 0}
    for binary, family, title, kind, need, _ in TARGETS:
        mine = [r for r in rows if r["binary"] == binary and r["family"] == family]
        cand = [r for r in mine if r["verdict"] in ("MET", "MISSED")]
        need_s = f"≥ {need:g} % of {CEILING_NAME[kind]}"
        if not cand:
            why = "no benchmark results"
            if mine and all(r.get("error") for r in mine):
                why = "skipped: " + mine[0]["error"]
            elif mine:
                why = "no shape in the judged range"
            out.append(f"| {title} | — | — | — | — | — | — | {need_s} | NOT MEASURED ({esc(why)}) |")
            counts["NOT MEASURED"] += 1
            continue
        shapes = {}
        for r in cand:
            shapes.setdefault(r["shape"], []).append(r)
        for shape, rs in shapes.items():
            best = max(rs, key=lambda r: r["pct"])
            v = "MET" if best["pct"] >= need else "MISSED"
            counts[v] += 1
            out.append(f"| {title} | {esc(shape)} | {esc(best['label'] or '—')} | {fmt_time(best.get('us'))} | "
                       f"{fmt_rate(best['achieved'], kind)} | {fmt_rate(best['ceiling'], kind)} | "
                       f"{best['pct']:.1f} % | {need_s} | {v} |")
    out += ["", f"**Targets: {counts['MET']} MET, {counts['MISSED']} MISSED, {counts['NOT MEASURED']} not measured** "
            f"(memory-bound targets judged at ≥ {opt.min_mb:g} MB of traffic per call; MoE grouped GEMM at "
            f"T ≥ {opt.moe_min_tokens}; flash-attention prefill at S = 8192)."]

    out += ctest_section(opt.ctest_log)
    out += check_section(opt.check_log)
    out += cli_bench_section(opt.cli_bench_log)
    out += check_section(opt.check_vl_log, "minimax01 check (preset vl-tiny, against ref-f64)", "logs/check-vl.log")
    out += cli_bench_section(opt.bench_vl_log, "minimax01 bench --backends cuda, MiniMax-VL-01 "
                             "(bench/gpu/vl_tower_config.json: the released vision tower and projector)")
    out += vision_tower_line(opt.bench_vl_log)

    out += ["", "## Kernel benchmarks (median per call; ceilings measured in the same benchmark run)"]
    for binary in sorted({r["binary"] for r in rows}):
        rs = [r for r in rows if r["binary"] == binary]
        reps = max((r.get("reps", 1) for r in rs), default=1)
        out += ["", f"### {binary}" + (f" (median of {reps} repetitions)" if reps > 1 else ""), ""]
        errors = {r.get("error") for r in rs}
        if len(errors) == 1 and None not in errors:
            out.append(f"All {len(rs)} benchmarks skipped: {esc(errors.pop())}.")
            continue
        out += ["| benchmark | version | median | achieved | ceiling | % of ceiling | target | verdict |",
                "|---|---|---|---|---|---|---|---|"]
        for r in rs:
            name = r["name"].replace("/manual_time", "")
            if r.get("error"):
                out.append(f"| {esc(name)} | {esc(r['label'] or '—')} | — | — | — | — | — | skipped: {esc(r['error'])} |")
                continue
            t, kind = r["target"], r.get("kind")
            tgt = f"≥ {t['need']:g} %" if t else "—"
            verdict = r["verdict"] if r["verdict"] != "—" else (f"— ({r['why']})" if r["why"] else "—")
            extra = ""
            c = r.get("counters", {})
            if "pct_of_copy" in c and kind == "cublas":
                extra = f" (copy: {float(c['pct_of_copy']):.1f} %)"
            pct = f"{r['pct']:.1f} %{extra}" if kind else "—"
            out.append(f"| {esc(name)} | {esc(r['label'] or '—')} | {fmt_time(r.get('us'))} | "
                       f"{fmt_rate(r.get('achieved'), kind) if kind else '—'} | "
                       f"{fmt_rate(r.get('ceiling'), kind) if kind else '—'} | {pct} | {tgt} | {esc(verdict)} |")
    if not rows:
        out += ["", "No benchmark results."]

    text = "\n".join(out) + "\n"
    if opt.out:
        with open(opt.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
