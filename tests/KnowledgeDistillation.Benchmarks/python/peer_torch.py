#!/usr/bin/python3
"""The PyTorch eager peer: times teacher scoring, student encoding and the training step on the same weights, the same
token ids (written by the benchmark program's `prepare` mode) and the same thread count as our benchmarks.

    /usr/bin/python3 peer_torch.py <artifacts-dir> [--threads N] [--iterations N] [--only PREFIX] [--peak NAME]

Per workload: one warm-up call, then N timed calls; the median goes to <artifacts>/results/torch.json. Teacher scoring
and encoding run under torch.inference_mode(); training runs with dropout on, Margin-MSE, backward, gradient clipping
at 1.0 and AdamW, as the C# training benchmark does. --peak runs one workload three times and records ru_maxrss.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_bert as bb  # noqa: E402


def openblas_core():
    """The kernel set OpenBLAS chose in this process (torch's matrix products run on it), or None without OpenBLAS."""
    import ctypes
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "openblas" in line and line.rstrip().endswith((".so", ".so.0", ".so.3"))})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return None


def tensors(inputs, batch):
    return tuple(bb.read_npy(os.path.join(inputs, batch[k])) for k in ("ids", "mask", "types"))


def mean_pool(states, mask):
    m = mask.unsqueeze(-1).to(states.dtype)
    return (states * m).sum(1) / m.sum(1).clamp_min(1e-9)


def make_runner(w, artifacts, inputs):
    models = os.path.join(artifacts, "models")
    kind, shape = w["kind"], w["shape"]
    batches = [tensors(inputs, b) for b in w["batches"]]
    if kind == "teacher":
        model = bb.load(bb.CrossEncoder(shape), os.path.join(models, f"{shape}-cross")).eval()

        def run():
            with torch.inference_mode():
                return torch.cat([model(*b)[:, 0] for b in batches])
        return run
    encoder = bb.load(bb.Bert(shape), os.path.join(models, f"{shape}-encoder"))
    if kind == "encode":
        encoder.eval()

        def run():
            with torch.inference_mode():
                return torch.cat([mean_pool(encoder(*b), b[1]) for b in batches])
        return run
    assert kind == "train"
    encoder.train()
    (q, d) = batches
    scores = bb.read_npy(os.path.join(inputs, w["scores"]))
    c = w["candidates"]
    params = [p for n, p in encoder.named_parameters() if not n.startswith("pooler.")]
    optimizer = torch.optim.AdamW(params, lr=2e-5, weight_decay=0.01)

    def run():
        optimizer.zero_grad()
        qe = F.normalize(mean_pool(encoder(*q), q[1]), dim=1)
        de = F.normalize(mean_pool(encoder(*d), d[1]), dim=1)
        in_batch = qe @ de.t()                                   # [B, B*C], as the student's Score
        rows = torch.arange(qe.shape[0]).unsqueeze(1)
        own = in_batch.gather(1, rows * c + torch.arange(c).unsqueeze(0))
        loss = ((own[:, :1] - own[:, 1:]) - (scores[:, :1] - scores[:, 1:])).square().mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        return loss.item()
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("artifacts")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--peak", default="")
    ap.add_argument("--clock", choices=["wall", "thread"], default="wall",
                    help="thread: the calling thread's CPU time (with --threads 1 and OPENBLAS_NUM_THREADS=1), for a shared machine")
    ap.add_argument("--openblas-core", action="store_true", help="print the OpenBLAS kernel set and exit")
    a = ap.parse_args()
    if a.openblas_core:
        print(openblas_core() or "none")
        return
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    inputs = os.path.join(a.artifacts, "inputs")
    results_dir = os.path.join(a.artifacts, "results")
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(inputs, "manifest.json")) as f:
        manifest = json.load(f)
    workloads = {w["name"]: w for w in manifest["workloads"]}

    if a.peak:
        run = make_runner(workloads[a.peak], a.artifacts, inputs)
        for _ in range(3):
            run()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        with open(os.path.join(results_dir, f"peak-torch-{a.peak}.json"), "w") as f:
            json.dump({"workload": a.peak, "peak_mb": peak_mb}, f)
        print(f"{a.peak}: peak RSS {peak_mb:.0f} MB")
        return

    path = os.path.join(results_dir, "torch.json")
    results = {}
    if os.path.exists(path):
        with open(path) as f:
            results = json.load(f)
    results["_meta"] = {"clock": a.clock, "torch": torch.__version__, "threads": torch.get_num_threads(), "iterations": a.iterations,
                        "openblas_core": openblas_core(), "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE")}
    for name, w in workloads.items():
        if not name.startswith(a.only):
            continue
        run = make_runner(w, a.artifacts, inputs)
        out = run()  # warm-up
        clock = time.thread_time if a.clock == "thread" else time.perf_counter
        times = []
        for _ in range(a.iterations):
            t0 = clock()
            run()
            times.append(clock() - t0)
        entry = {"median_s": statistics.median(times), "times_s": times}
        if w["kind"] == "teacher" and w["length"] == 128 and w["units"] == 32:
            entry["scores"] = out.tolist()
        results[name] = entry
        print(f"{name}: median {entry['median_s']:.3f} s ({w['units'] / entry['median_s']:.1f} units/s)", flush=True)
        with open(path + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
