#!/usr/bin/env python3
"""Tests of scripts/gpu_summary.py and of scripts/gpu-kit.sh's refusal, without a GPU.

    gpu_summary_test.py [Class.test_name]      (ctest runs one case per test; label tools)

Fixtures (tests/tools/fixtures): hand-written Google Benchmark JSONs in the layout libbenchmark 1.7
writes (aggregates with --benchmark_repetitions, plain iteration entries without, error entries from
a machine without a GPU), with the real benchmark names and the counters of bench/gpu/gpu_bench_util.h.
Expected verdicts (pct_of_ceiling of the best version per shape):
  RMSNorm 16384 norm 91.0 MET, residual+norm 80.0 MISSED; rope append 70.7 MISSED; MoE gather 88.0 MET;
  lightning decode 81.0 MET; softmax decode 83.2 MET; flash prefill S=8192 47.9 MET (v3 beats v2's
  40.3); MoE grouped GEMM T=4096 51.0 MISSED; vision attention 19 crops 55.7 MET (v2; v1 4.6);
  embedding / norm-gate / silu / vision LayerNorm / epilogues / splice: not measured.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MM_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
SUMMARY = os.path.join(SRC, "scripts", "gpu_summary.py")
KIT_SH = os.path.join(SRC, "scripts", "gpu-kit.sh")
FIX = os.path.join(HERE, "fixtures")
GOOD = sorted(os.path.join(FIX, f) for f in os.listdir(FIX) if f.endswith(".json"))
WORK = os.environ.get("MM_TEST_WORK") or tempfile.gettempdir()


def summarise(*args):
    p = subprocess.run([sys.executable, SUMMARY, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def target_rows(md):
    """The rows of the issue-5 targets table."""
    sec = md.split("## Issue-5 targets", 1)[1].split("\n## ", 1)[0]
    return [ln for ln in sec.splitlines() if ln.startswith("| ") and not ln.startswith("| target ")]


class GpuSummary(unittest.TestCase):
    def test_targets_met_and_missed(self):
        rc, md, err = summarise(*GOOD)
        self.assertEqual(rc, 0, err)
        rows = target_rows(md)
        expect = [
            (r"RMSNorm \| tokens:16384/residual:0 \| v2_block_per_row_vec16 norm \|", "91.0 %", "≥ 85 % of copy", "MET"),
            (r"RMSNorm \| tokens:16384/residual:1 \| v2_block_per_row_vec16 residual\+norm \|", "80.0 %", "≥ 85 % of copy", "MISSED"),
            (r"rope append \| T:8192 \|", "70.7 %", "≥ 85 % of copy", "MISSED"),
            (r"MoE routing steps \| step:2/T:16384 \| gather \|", "88.0 %", "≥ 85 % of copy", "MET"),
            (r"lightning decode \| nb:64 \| decode_v2_vec4 \|", "81.0 %", "≥ 80 % of copy", "MET"),
            (r"softmax decode \| batch:8/len:32768 \| decode_v2_split_kv_mma \|", "83.2 %", "≥ 80 % of copy", "MET"),
            (r"flash-attention prefill \(hd 128, causal, 8K\) \| S:8192 \| prefill_v3_fa2_mma_8warps \|", "47.9 %",
             "≥ 45 % of cuBLAS", "MET"),
            (r"MoE grouped GEMM \| T:4096 \| v2 \|", "51.0 %", "≥ 60 % of cuBLAS", "MISSED"),
            (r"vision attention \(19 x 577 rows, d 64\) \| crops:19/len:577 \| v2_fa2_mma \|", "55.7 %",
             "≥ 50 % of cuBLAS", "MET"),
        ]
        for head, pct, need, verdict in expect:
            pat = re.compile(r"^\| " + head + r".*\| " + re.escape(pct) + r" \| " + re.escape(need) + r" \| "
                             + verdict + r" \|$")
            self.assertTrue(any(pat.match(r) for r in rows), f"no target row matching {pat.pattern} in:\n" + "\n".join(rows))
        for title in ("embedding gather", "norm-gate (lightning output)", "silu (qkv)", "vision LayerNorm",
                      "vision bias / GELU / residual epilogues", "VL packing and splice"):
            self.assertIn(f"| {title} | — | — | — | — | — | — |", md)
            self.assertRegex(md, re.escape(f"| {title} |") + r".*NOT MEASURED \(no benchmark results\) \|")
        self.assertEqual(sum(r.endswith("| MET |") for r in rows), 6)
        self.assertEqual(sum(r.endswith("| MISSED |") for r in rows), 3)
        self.assertIn("**Targets: 6 MET, 3 MISSED, 6 not measured**", md)
        # Every benchmark of the fixtures appears in its binary's table, versions included.
        self.assertRegex(md, r"\| BM_rmsnorm/version:0/tokens:16384/residual:0 \| v1_thread_per_row norm \| 320 µs \| "
                             r"1258 GB/s \| 3050 GB/s \| 41.3 % \| ≥ 85 % \| MISSED \|")
        self.assertRegex(md, r"\| BM_GroupedFfn/version:4/T:4096 \| v2 \| 8.4 ms \| 331.3 TFLOP/s \| 650 TFLOP/s \| "
                             r"51.0 % \(copy: 43.8 %\) \| ≥ 60 % \| MISSED \|")

    def test_rows_outside_the_judged_range_are_shown_not_judged(self):
        rc, md, err = summarise(*GOOD)
        self.assertEqual(rc, 0, err)
        self.assertRegex(md, r"\| BM_rmsnorm/version:0/tokens:1/residual:0 \|.*\| — \(0.0369 MB < 32 MB: latency/L2-sized\) \|")
        self.assertRegex(md, r"\| BM_Prefill/version:2/S:4096 \|.*\| — \(target at S = 8192\) \|")
        self.assertRegex(md, r"\| BM_GroupedFfn/version:4/T:16 \|.*\| — \(memory-bound at T < 4096: see the copy %\) \|")
        self.assertRegex(md, r"\| BM_VisionAttention/version:1/crops:1/len:577 \|.*\| — \(target at 19 crops\) \|")
        self.assertRegex(md, r"\| BM_Prefill/version:0/T:8192 \| v3_block_mma \| 500 µs \| 138 TFLOP/s \| 610 TFLOP/s \| "
                             r"22.6 % \| — \| — \|")
        # Lower the traffic threshold: the 1-token RMSNorm is judged too.
        rc, md, err = summarise("--min-mb", "0.01", *GOOD)
        self.assertEqual(rc, 0, err)
        self.assertRegex(md, r"(?m)^\| RMSNorm \| tokens:1/residual:0 \| v1_thread_per_row norm \|.*\| 97.8 % \| ≥ 85 % of copy \| MET \|$")
        self.assertIn("**Targets: 7 MET, 3 MISSED, 6 not measured**", md)

    def test_skipped_benchmarks_are_reported(self):
        rc, md, err = summarise(*GOOD)
        self.assertEqual(rc, 0, err)
        self.assertIn("### sampling_bench\n\nAll 2 benchmarks skipped: no CUDA device.", md)
        # Only the no-GPU file: nothing measured, said so, and the card is the one its context names.
        rc, md, err = summarise(os.path.join(FIX, "sampling_bench.json"))
        self.assertEqual(rc, 0, err)
        self.assertTrue(md.startswith("# GPU kit run: none (no CUDA device: CUDA driver version is insufficient for CUDA runtime "
                                      "version), 2026-12-01"), md[:200])
        self.assertIn("**Targets: 0 MET, 0 MISSED, 14 not measured**", md)

    def test_header_and_run_logs(self):
        with tempfile.TemporaryDirectory(dir=WORK) as d:
            def put(name, text):
                path = os.path.join(d, name)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                return path
            kit = put("KIT_INFO", "# kit\ncommit=1359f2129582b068340c8735b0fa0f4c80035773\ncommit_short=1359f21\n"
                                  "dirty_files=0\ndate=2026-12-01T09:00:00Z\nsource_dir=/work/main\n"
                                  "nvcc=13.0 (V13.0.88)\ncuda_flags=arch=compute_90a,code=[compute_90a,sm_90a]\nstale_kit=1\n")
            stages = put("stages.tsv", "ldd\tok\t0\tevery kit binary resolves its libraries\n"
                                       "ctest\tFAIL (rc 8)\t41\t\nbench.moe_bench.BM_Step\tTIMEOUT (240s)\t240\treps 3\n")
            gpu = put("gpu.csv", "name, driver_version, pci.bus_id, memory.total [MiB], clocks.sm [MHz]\n"
                                 "NVIDIA H100 80GB HBM3, 580.95.05, 00000000:18:00.0, 81559 MiB, 1980 MHz\n")
            ctest = put("ctest.log", "  1/3 Test  #1: SimtGpu.RowSum ....   Passed    0.31 sec\n"
                                     "67% tests passed, 1 tests failed out of 3\n\nTotal Test time (real) =  41.2 sec\n\n"
                                     "The following tests did not run:\n\t 12 - OptSampling.CudaMatchesReferenceTokens (Skipped)\n\n"
                                     "The following tests FAILED:\n\t 31 - MoeCuda.GroupedFfnVsReference (Failed)\n")
            check = put("check.log", "model: preset tiny (synthetic, seed 0)\n"
                                     "  cuda-sim  PASS    136 tensors, 0 failed; 4.01 s\n"
                                     "  cuda      PASS    136 tensors, 0 failed; 0.31 s\ncheck: PASS\nreport: /tmp/x.json\n")
            bench = put("cli-bench.log", "model: preset tiny (synthetic, seed 0)\n  cuda  ttft  256  1.20  1.30  1.40\n"
                                         "report: /tmp/b.json\n")
            out = os.path.join(d, "summary.md")
            rc, _, err = summarise("--kit-info", kit, "--stages", stages, "--gpu-csv", gpu, "--ctest-log", ctest,
                                   "--check-log", check, "--cli-bench-log", bench, "--out", out, *GOOD)
            self.assertEqual(rc, 0, err)
            with open(out, encoding="utf-8") as f:
                md = f.read()
        self.assertTrue(md.startswith("# GPU kit run: NVIDIA H100 80GB HBM3, 2026-12-01\n"), md[:200])
        self.assertIn("- **Card**: NVIDIA H100 80GB HBM3, driver 580.95.05", md)
        self.assertIn("memory.total 81559 MiB", md)
        self.assertIn("- **Commit**: 1359f21", md)
        self.assertIn("WARNING: stale kit", md)
        self.assertIn("| ctest | FAIL (rc 8) | 41 |  |", md)
        self.assertIn("| bench.moe_bench.BM_Step | TIMEOUT (240s) | 240 | reps 3 |", md)
        self.assertIn("- 67% tests passed, 1 tests failed out of 3", md)
        self.assertIn("- skipped (1): OptSampling.CudaMatchesReferenceTokens", md)
        self.assertIn("- **FAILED**: MoeCuda.GroupedFfnVsReference (Failed)", md)
        self.assertIn("- cuda      PASS    136 tensors, 0 failed; 0.31 s", md)
        self.assertIn("- check: PASS", md)
        self.assertIn("  cuda  ttft  256  1.20  1.30  1.40", md)
        self.assertNotIn("report: /tmp/b.json", md)

    def test_vl_check_and_vision_tower_time(self):
        with tempfile.TemporaryDirectory(dir=WORK) as d:
            check = os.path.join(d, "check-vl.log")
            with open(check, "w", encoding="utf-8") as f:
                f.write("model: preset vl-tiny (synthetic, seed 0)\n  cuda      PASS    147 tensors, 0 failed; 0.52 s\n"
                        "            vision tower + projector: 11 tensors; worst rel_fro 5.1e-03\ncheck: PASS\n")
            bench = os.path.join(d, "bench-vl.log")
            with open(bench, "w", encoding="utf-8") as f:
                f.write("[bench 3/4, 0:10] cuda image TTFT 1920x1080 rep 1/5\nmodel: vl_tower\n"
                        "  image TTFT (MiniMax-VL-01): backend  WxH  crops  image+text tokens  p50/p90/p99 ms  tok/s  "
                        "GFLOP/s | vision per crop p50 ms, GFLOP/s, share of TTFT\n"
                        "  cuda      1920x1080  19 crops  10406+32 tokens   31.200   31.900   32.100 334551.3  "
                        "233000.00 | 1.500 ms, 254600.00 GFLOP/s, 91%\nreport: /tmp/v.json\n")
            rc, md, err = summarise("--check-vl-log", check, "--bench-vl-log", bench, *GOOD)
        self.assertEqual(rc, 0, err)
        self.assertIn("## minimax01 check (preset vl-tiny, against ref-f64)", md)
        self.assertIn("- cuda      PASS    147 tensors, 0 failed; 0.52 s", md)
        self.assertIn("**Vision tower + projector, 1920x1080 image (19 crops): 28.5 ms** (1.5 ms per crop, p50).", md)
        self.assertNotIn("[bench 3/4", md)

    def test_malformed_json_fails_naming_the_file(self):
        bad = os.path.join(FIX, "bad", "truncated.json")
        for args in ([bad], GOOD + [bad]):
            rc, out, err = summarise(*args)
            self.assertEqual(rc, 2, out + err)
            self.assertIn(bad, err)
            self.assertIn("malformed JSON (line 17", err)
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=WORK, delete=False) as f:
            f.write('{"context": {}, "benchmarks": {"not": "a list"}}')
        try:
            rc, out, err = summarise(f.name)
            self.assertEqual(rc, 2, out + err)
            self.assertIn(f.name + ": not a Google Benchmark JSON", err)
        finally:
            os.unlink(f.name)

    def test_old_counter_names_fail_naming_the_file(self):
        bad = os.path.join(FIX, "bad", "old_counter_names.json")
        rc, out, err = summarise(bad)
        self.assertEqual(rc, 2, out + err)
        self.assertIn(bad + ": benchmark BM_RopeAppend/T:8192/manual_time: has copy_GB/s but no GB/s counter", err)

    def test_no_input_is_a_usage_error(self):
        rc, _, err = summarise()
        self.assertEqual(rc, 1)
        self.assertIn("no input", err)
        rc, _, err = summarise(os.path.join(FIX, "does-not-exist.json"))
        self.assertEqual(rc, 1)
        self.assertIn("does-not-exist.json: no such file", err)


class GpuKitRun(unittest.TestCase):
    def test_refuses_without_a_prepared_kit(self):
        with tempfile.TemporaryDirectory(dir=WORK) as d:
            env = dict(os.environ, MM_GPU_KIT=os.path.join(d, "no-such-kit"))
            env.pop("OUT", None)
            p = subprocess.run(["bash", KIT_SH, "run"], capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
            self.assertIn("gpu-kit: error: no prepared kit at " + os.path.join(d, "no-such-kit"), p.stderr)
            self.assertIn("scripts/gpu-kit.sh prepare", p.stderr)
            # On the device ($OUT set) the reason also comes back as summary.md.
            out = os.path.join(d, "out")
            os.mkdir(out)
            env["OUT"] = out
            p = subprocess.run(["bash", KIT_SH, "run"], capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
            with open(os.path.join(out, "summary.md"), encoding="utf-8") as f:
                self.assertIn("no prepared kit", f.read())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:], verbosity=2)
