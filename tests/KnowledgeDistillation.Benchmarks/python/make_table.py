#!/usr/bin/python3
"""Turns the comparison's raw results into the Markdown tables of docs/benchmarks.md (between the results markers).

    /usr/bin/python3 make_table.py <artifacts-dir> <docs/benchmarks.md>

Inputs: inputs/manifest.json (work units and FLOPs per workload), results/bdn/results/*-report-full.json
(BenchmarkDotNet medians), results/torch.json (PyTorch peer medians), results/drift.json, results/soak.json,
results/peak-*.json, results/load.txt. Rates are units / median time; FLOP/s are the manifest's model FLOPs / median.
"""

import glob
import json
import os
import platform
import re
import statistics
import sys

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def load(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def bdn_medians(results):
    """{(type, method, params): median seconds} from the joined BenchmarkDotNet report."""
    out = {}
    for path in glob.glob(os.path.join(results, "bdn", "results", "*-report-full.json")):
        for b in load(path)["Benchmarks"]:
            stats = b.get("Statistics")
            if not stats:
                continue
            params = b.get("Parameters") or ""
            out[(b["Type"], b["Method"], params)] = stats["Median"] / 1e9
    return out


def fmt(x, digits=0):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:,.{max(digits, 1)}f}" if x < 10 else f"{x:,.1f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def rx(x):
    return "–" if x is None else f"{x:.2f}×"


def pct(x):
    return "–" if x is None else f"{100 * x:.0f}%"


def main():
    artifacts, doc = sys.argv[1], sys.argv[2]
    results = os.path.join(artifacts, "results")
    manifest = load(os.path.join(artifacts, "inputs", "manifest.json"))
    workloads = {w["name"]: w for w in manifest["workloads"]}
    bdn = bdn_medians(results)
    torch_r = load(os.path.join(results, "torch.json"), {})
    drift = load(os.path.join(results, "drift.json"), {})
    soak = load(os.path.join(results, "soak.json"), {})
    threads = manifest["threads"]

    def med(type_, method, params=""):
        return bdn.get((type_, method, params))

    def rate(units, seconds):
        return None if seconds is None else units / seconds

    lines = []
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    loads = [l.split() for l in open(os.path.join(results, "load.txt"))] if os.path.exists(os.path.join(results, "load.txt")) else []
    load_text = ", ".join(f"{k} {v}" for k, v in loads) or "not recorded"
    # The run itself keeps `threads` cores busy, so a 1-minute load of about `threads` is a quiet machine.
    quiet = all(float(v) < float(threads) + 0.5 for _, v in loads) if loads else False
    lines.append(f"Machine: {cpu}, {os.cpu_count()} cores; **{threads} threads for every engine** (libtorch intra-op, "
                 f"ONNX Runtime intra-op, torch.set_num_threads). 1-minute load during the run (the run itself accounts for about {threads}): {load_text}"
                 + ("" if quiet else " — **measured under load from other processes: treat the absolute figures as a lower bound; the ratios are between engines run in the same conditions.**"))
    lines.append(f"Medians of {torch_r.get('_meta', {}).get('iterations', '?')} timed calls after one warm-up "
                 f"(BenchmarkDotNet short job; the PyTorch peer times the same way). PyTorch {torch_r.get('_meta', {}).get('torch', '?')} (Debian, OpenBLAS "
                 f"{torch_r.get('_meta', {}).get('openblas_core') or '?'} kernels"
                 + (f", set with OPENBLAS_CORETYPE because OpenBLAS 0.3.21 falls back to SSE3 kernels on this CPU" if torch_r.get('_meta', {}).get('openblas_coretype_env') else "") + ").")
    lines.append("")

    # Ceiling
    c32 = med("CeilingBenchmarks", "MatMulFp32")
    c16 = med("CeilingBenchmarks", "MatMulBf16")
    mm = 2 * 3072 ** 3
    ceil32, ceil16 = rate(mm, c32), rate(mm, c16)
    lines += ["### Ceiling: 3072³ matrix product in libtorch", "",
              "| dtype | median | GFLOP/s |", "|---|---:|---:|",
              f"| float32 | {fmt(c32 and c32 * 1e3)} ms | {fmt(ceil32 and ceil32 / 1e9)} |",
              f"| bfloat16 | {fmt(c16 and c16 * 1e3)} ms | {fmt(ceil16 and ceil16 / 1e9)} |", ""]

    goals = []

    # Teacher
    lines += ["### Teacher scoring (pairs/s; ours end to end including tokenization, peers on pre-tokenized ids)", "",
              "| model | tokens | batch | ours fp32 | ours bf16 | ONNX Runtime fp32 | PyTorch fp32 | ours/ORT | bf16/ORT | ours/PyTorch | ours fp32 % of fp32 ceiling | bf16 % of bf16 ceiling |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, w in workloads.items():
        if w["kind"] != "teacher":
            continue
        case = f"Case={w['shape']}-{w['length']}-b{w['units']}"
        o32 = rate(w["units"], med("TeacherBenchmarks", "OursFp32", case))
        o16 = rate(w["units"], med("TeacherBenchmarks", "OursBf16", case))
        ort = rate(w["units"], med("TeacherBenchmarks", "OnnxRuntimeFp32", case))
        pt = rate(w["units"], torch_r.get(name, {}).get("median_s"))
        f32 = ratio(o32 and o32 * w["flops"] / w["units"], ceil32)
        f16 = ratio(o16 and o16 * w["flops"] / w["units"], ceil16)
        lines.append(f"| {w['shape']} | {w['length']} | {w['units']} | {fmt(o32)} | {fmt(o16)} | {fmt(ort)} | {fmt(pt)} | "
                     f"{rx(ratio(o32, ort))} | {rx(ratio(o16, ort))} | {rx(ratio(o32, pt))} | {pct(f32)} | {pct(f16)} |")
        goals.append(("teacher fp32 ≥ ONNX Runtime", name, ratio(o32, ort), 1.0))
        goals.append(("teacher bf16 ≥ 2× ONNX Runtime", name, ratio(o16, ort), 2.0))
        if w["shape"] == "base":
            goals.append(("BERT-base ≥ 50% of ceiling (fp32)", name, f32, 0.5))
    lines.append("")

    # Student encoding
    lines += ["### Student encoding (texts/s; 64 SciFact documents, length-sorted batches of 32, mean pooling)", "",
              "| model | tokens | ours fp32 | ours bf16 | PyTorch fp32 | ours/PyTorch | ours fp32 % of ceiling |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for name, w in workloads.items():
        if w["kind"] != "encode":
            continue
        case = f"Case={w['shape']}-{w['length']}"
        o32 = rate(w["units"], med("StudentBenchmarks", "EncodeFp32", case))
        o16 = rate(w["units"], med("StudentBenchmarks", "EncodeBf16", case))
        pt = rate(w["units"], torch_r.get(name, {}).get("median_s"))
        f32 = ratio(o32 and o32 * w["flops"] / w["units"], ceil32)
        lines.append(f"| {w['shape']} | {w['length']} | {fmt(o32)} | {fmt(o16)} | {fmt(pt)} | {rx(ratio(o32, pt))} | {pct(f32)} |")
    lines.append("")

    # Training
    lines += ["### Training step (examples/s; batch 32, 1 positive + 4 negatives, Margin-MSE, backward, clip, AdamW)", "",
              "| model | tokens | ours | PyTorch eager | ours/PyTorch | ours % of fp32 ceiling |", "|---|---:|---:|---:|---:|---:|"]
    for name, w in workloads.items():
        if w["kind"] != "train":
            continue
        o = rate(w["units"], med("TrainingBenchmarks", "TrainStep", f"Shape={w['shape']}&Length={w['length']}"))
        if o is None:
            o = rate(w["units"], next((v for (t, m, p), v in bdn.items() if t == "TrainingBenchmarks" and f"Length={w['length']}" in p), None))
        pt = rate(w["units"], torch_r.get(name, {}).get("median_s"))
        f = ratio(o and o * w["flops"] / w["units"], ceil32)
        lines.append(f"| {w['shape']} | {w['length']} | {fmt(o, 2)} | {fmt(pt, 2)} | {rx(ratio(o, pt))} | {pct(f)} |")
        goals.append(("training step ≥ PyTorch eager", name, ratio(o, pt), 1.0))
    lines.append("")

    # Tokenization
    tokens = manifest["tokenization_tokens"]
    t = {m: rate(tokens, med("TokenizationBenchmarks", m)) for m in
         ["OursSingleThread", "FastBertTokenizerSingleThread", "OursParallel", "FastBertTokenizerParallel"]}
    lines += [f"### Tokenization (tokens/s; {manifest['tokenization_documents']:,} SciFact documents, {tokens:,} tokens, up to 512 per document)", "",
              "| | ours | FastBertTokenizer 1.2.6 | FastBertTokenizer/ours |", "|---|---:|---:|---:|",
              f"| 1 thread | {fmt(t['OursSingleThread'])} | {fmt(t['FastBertTokenizerSingleThread'])} | {rx(ratio(t['FastBertTokenizerSingleThread'], t['OursSingleThread']))} |",
              f"| {threads} threads | {fmt(t['OursParallel'])} | {fmt(t['FastBertTokenizerParallel'])} | {rx(ratio(t['FastBertTokenizerParallel'], t['OursParallel']))} |", ""]
    if "fastberttokenizer_documents_with_different_ids" in drift:
        lines.append(f"FastBertTokenizer's ids differ from ours (ours match Hugging Face's: the tokenizer parity tests) on "
                     f"{drift['fastberttokenizer_documents_with_different_ids']} of {drift['tokenization_documents']} documents.")
        lines.append("")
    goals.append(("tokenization within 2× of FastBertTokenizer (1 thread)", "tokenize", ratio(t["OursSingleThread"], t["FastBertTokenizerSingleThread"]), 0.5))

    # Retrieval, cache, sorting
    r = rate(256, med("RetrievalBenchmarks", "ExactTop100"))
    cw = rate(100_000, med("CacheBenchmarks", "Write"))
    cr = rate(100_000, med("CacheBenchmarks", "Read"))
    unsorted = rate(256, med("SortingBenchmarks", "ScoreMixedLengths", "SortByLength=False"))
    sorted_ = rate(256, med("SortingBenchmarks", "ScoreMixedLengths", "SortByLength=True"))
    lines += ["### Retrieval, score cache, length sorting", "",
              "| what | rate |", "|---|---:|",
              f"| exact top-100 over 100,000 × 384 embeddings | {fmt(r)} queries/s |",
              f"| teacher-score cache, write (new pairs, flushed per batch of 64) | {fmt(cw)} scores/s |",
              f"| teacher-score cache, read (all pairs stored) | {fmt(cr)} scores/s |",
              f"| MiniLM teacher, 256 mixed-length pairs (≤ 256 tokens), caller's order | {fmt(unsorted)} pairs/s |",
              f"| same, length-sorted batches (the default) | {fmt(sorted_)} pairs/s ({rx(ratio(sorted_, unsorted))}) |", ""]

    # Memory
    peaks = {os.path.basename(p)[len("peak-"):-len(".json")]: load(p)["peak_mb"] for p in glob.glob(os.path.join(results, "peak-*.json"))}
    if peaks:
        lines += ["### Peak working set (MiniLM, 128 tokens, batch 32; fresh process, 3 calls)", "", "| workload | ours | ONNX Runtime | PyTorch |", "|---|---:|---:|---:|"]
        lines.append(f"| teacher scoring fp32 | {fmt(peaks.get('ours-teacher-fp32-minilm-128'))} MB | {fmt(peaks.get('ours-onnxruntime-minilm-128'))} MB | {fmt(peaks.get('torch-teacher-minilm-128-b32'))} MB |")
        lines.append(f"| teacher scoring bf16 | {fmt(peaks.get('ours-teacher-bf16-minilm-128'))} MB | | |")
        lines.append(f"| student encoding (64 texts) | {fmt(peaks.get('ours-encode-minilm-128'))} MB | | {fmt(peaks.get('torch-encode-minilm-128'))} MB |")
        lines.append(f"| training step | {fmt(peaks.get('ours-train-minilm-128'))} MB | | {fmt(peaks.get('torch-train-minilm-128'))} MB |")
        lines.append("")
    if soak:
        lines += ["### Soak: live tensors and working set over 1,000 calls (small model)", "", "| workload | live tensors at 1 / 10 / 100 / 1000 | working set MB at 1 / 1000 |", "|---|---|---|"]
        for k, samples in soak.items():
            by = {s["Step"]: s for s in samples}
            live = " / ".join(str(by[i]["LiveTensors"]) for i in (1, 10, 100, 1000) if i in by)
            ws = f"{by[1]['WorkingSetMb']:.0f} / {by[1000]['WorkingSetMb']:.0f}" if 1 in by and 1000 in by else "–"
            lines.append(f"| {k} | {live} | {ws} |")
            if 1 in by and 1000 in by:
                goals.append(("live tensors flat over 1,000 " + k, k, by[1000]["LiveTensors"] - by[10]["LiveTensors"] if 10 in by else None, None))
        lines.append("")

    # Drift
    shapes = [k for k in drift if isinstance(drift[k], dict)]
    if shapes:
        lines += ["### Agreement (256 mixed-length pairs, ≤ 256 tokens)", "",
                  "| model | fp32 score std | bf16 max abs drift | bf16 mean abs drift | bf16 Spearman vs fp32 | ONNX Runtime max abs diff | PyTorch max abs diff (32 pairs) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for s in shapes:
            d = drift[s]
            ours = drift.get(f"ours_scores_teacher-{s}-128-b32")
            peer = torch_r.get(f"teacher-{s}-128-b32", {}).get("scores")
            pdiff = max(abs(a - b) for a, b in zip(ours, peer)) if ours and peer else None
            lines.append(f"| {s} | {d['fp32_score_std']:.3f} | {d['bf16_max_abs_drift']:.3f} | {d['bf16_mean_abs_drift']:.3f} | "
                         f"{d['bf16_spearman']:.4f} | {d['onnxruntime_max_abs_diff']:.1e} | {'–' if pdiff is None else f'{pdiff:.1e}'} |")
        lines.append("")

    # Goals
    lines += ["### Goals", "", "| goal | workload | measured | target | met |", "|---|---|---:|---:|---|"]
    for goal, where, value, target in goals:
        if target is None:
            met = "–" if value is None else ("yes" if value <= 0 else f"no (+{value})")
            lines.append(f"| {goal} | {where} | {'–' if value is None else f'{value:+d}'} from step 10 to 1000 | 0 | {met} |")
            continue
        met = "–" if value is None else ("yes" if value >= target else f"no, short by {100 * (1 - value / target):.0f}%")
        lines.append(f"| {goal} | {where} | {rx(value) if target != 0.5 or 'ceiling' not in goal else pct(value)} | "
                     f"{rx(target) if 'ceiling' not in goal else pct(target)} | {met} |")
    lines.append("")

    text = open(doc).read()
    block = BEGIN + "\n" + "\n".join(lines) + "\n" + END
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    with open(doc + ".tmp", "w") as f:
        f.write(text)
    os.replace(doc + ".tmp", doc)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
