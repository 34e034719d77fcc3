#!/usr/bin/env python3
"""Short tables from the Google Benchmark JSON files bench/gpu_check.sh writes.

    bench/summarize.py OUT_DIR

reads, where present,
  OUT_DIR/iteration_*.json   nst_bench_iteration, one file per configuration
                             (iteration_cuda_cudnn_cublas.json, iteration_cpu.json, ...)
  OUT_DIR/cuda_kernels.json  nst_bench_cuda, benchmarks named op/variant/shape
and prints
  - ms per iteration, one row per configuration, one column per image size;
  - per kernel op, one row per shape, one column per variant (microseconds
    per call), then the best variant with its GFLOP/s or GB/s (and the best
    full-FP32 one, where TF32 variants compete: TF32 rounds to ~1e-3).

Exit status: 0; 1 when an input file is unreadable or a benchmark reported
an error (the tables are still printed); 2 when OUT_DIR has no input at all.
"""
import glob
import json
import os
import sys

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
SUFFIXES = ("manual_time", "real_time", "process_time")


def load(path, problems):
    """The benchmark entries of one file (iterations only, no aggregates), or None."""
    try:
        with open(path) as f:
            data = json.load(f)
        runs = [b for b in data.get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
        return data.get("context", {}), runs
    except (OSError, ValueError) as e:
        problems.append(f"{path}: unreadable ({e})")
        return None


def seconds(run):
    return float(run.get("real_time", 0.0)) * UNIT_SECONDS.get(run.get("time_unit", "ns"), 1e-9)


def name_parts(run):
    """'conv_fprop/cudnn/block3_conv2/manual_time' -> ['conv_fprop', 'cudnn', 'block3_conv2']."""
    parts = run.get("run_name", run.get("name", "")).split("/")
    return [p for p in parts if p not in SUFFIXES and not p.startswith(("min_time:", "iterations:"))]


def errored(run, path, problems):
    if run.get("error_occurred"):
        problems.append(f"{os.path.basename(path)}: {run.get('name')}: {run.get('error_message', 'error')}")
        return True
    return False


def print_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def iteration_table(out_dir, problems):
    files = sorted(glob.glob(os.path.join(out_dir, "iteration_*.json")))
    if not files:
        return False
    table = {}  # config -> {size: ms}
    labels = {}
    sizes = []
    for path in files:
        config = os.path.basename(path)[len("iteration_"):-len(".json")]
        loaded = load(path, problems)
        if loaded is None:
            table[config] = {}
            continue
        for run in loaded[1]:
            parts = name_parts(run)
            size = int(run.get("px", parts[-1] if parts and parts[-1].isdigit() else 0))
            # iteration/<optimizer>/<size>: one row per configuration and optimiser
            row = f"{config} {parts[1]}" if len(parts) > 2 else config
            if size not in sizes:
                sizes.append(size)
            if errored(run, path, problems):
                table.setdefault(row, {})[size] = "err"
                continue
            table.setdefault(row, {})[size] = f"{seconds(run) * 1e3:.2f}"
            labels[row] = run.get("label", "")
    sizes.sort()
    print("ms per iteration (forward, losses, backward, optimiser update)")
    header = ["config"] + [f"{s}px" for s in sizes] + ["backend"]
    rows = [[c] + [table[c].get(s, "-") for s in sizes] + [labels.get(c, "")] for c in table]
    print_table(header, rows)
    return True


def kernel_tables(out_dir, problems):
    path = os.path.join(out_dir, "cuda_kernels.json")
    if not os.path.exists(path):
        return False
    loaded = load(path, problems)
    if loaded is None:
        return True
    context, runs = loaded
    if context.get("gpu"):
        print(f"kernels on {context['gpu']} (cuBLAS {context.get('cublas', '?')}, cuDNN {context.get('cudnn', '-')}),"
              " microseconds per call")
    ops = {}  # op -> {"variants": [...], "shapes": {shape: {variant: run}}}
    for run in runs:
        parts = name_parts(run)
        if len(parts) < 3:
            continue
        op, variant, shape = parts[0], parts[1], "/".join(parts[2:])
        entry = ops.setdefault(op, {"variants": [], "shapes": {}})
        if variant not in entry["variants"]:
            entry["variants"].append(variant)
        entry["shapes"].setdefault(shape, {})[variant] = run
    for op, entry in ops.items():
        variants = entry["variants"]
        has_tf32 = any("tf32" in v for v in variants)
        rows = []
        for shape, by_variant in entry["shapes"].items():
            row, ok = [shape], {}
            for v in variants:
                run = by_variant.get(v)
                if run is None:
                    row.append("-")
                elif errored(run, path, problems):
                    row.append("err")
                else:
                    row.append(f"{seconds(run) * 1e6:.1f}")
                    ok[v] = seconds(run)
            best = min(ok, key=ok.get) if ok else None
            if best is None:
                row += ["-", "-"]
            else:
                run = by_variant[best]
                rate = next((f"{float(run[k]):.0f} {k}" for k in ("GFLOP/s", "GB/s") if k in run), "")
                row += [best, rate]
            if has_tf32:
                fp32 = {v: t for v, t in ok.items() if "tf32" not in v}
                row.append(min(fp32, key=fp32.get) if fp32 else "-")
            rows.append(row)
        print()
        print(op)
        print_table(["shape"] + variants + ["best", "rate"] + (["best without TF32"] if has_tf32 else []), rows)
    return True


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out_dir = argv[1]
    problems = []
    found = iteration_table(out_dir, problems)
    if found:
        print()
    found = kernel_tables(out_dir, problems) or found
    if not found:
        print(f"summarize: no iteration_*.json or cuda_kernels.json in {out_dir}", file=sys.stderr)
        return 2
    if problems:
        print("\nproblems:")
        for p in problems:
            print(f"  {p}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
