"""Times the PyTorch reference generator on a CUDA GPU (DESIGN §7: WGSL vs PyTorch on the same GPU).

    python -m trainer.bench.generator_torch --schedule bench/release-standin.json --out reports/bench-generator-torch.json

Builds the random-weight generator of the schedule (the same seeded weights the browser benchmark
uses), then times one generation (batch 1, float32, TF32 off so the arithmetic matches the WGSL
kernels) with CUDA events: median of --runs after --warmup. Condition on the GPU, tokens left on
the GPU, as the browser's GPU-resident path.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

import torch

from trainer.generator.hyperconv import load_generator
from trainer.generator.random_weights import write_random_generator


def _commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:  # the device machine's copy of the tree may have no .git
        return os.environ.get("DND_COMMIT", "unknown")


def time_generator(model: torch.nn.Module, shape, runs: int, warmup: int, device: torch.device) -> list:
    x = torch.randn(*shape, device=device)
    times = []
    with torch.no_grad():
        for i in range(warmup + runs):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model(x)
            end.record()
            torch.cuda.synchronize()
            if i >= warmup:
                times.append(start.elapsed_time(end))
    return times


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schedule", default="bench/release-standin.json")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--out", default="reports/bench-generator-torch.json")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("bench_generator_torch needs a CUDA GPU")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda")
    with tempfile.TemporaryDirectory() as tmp:
        info = write_random_generator(args.schedule, tmp)
        model, manifest, _ = load_generator(tmp)
    model = model.to(device).eval()
    shape = (1,) + tuple(manifest["decoder"]["features"][0])
    results = {}
    for name, benchmark in (("eager_fp32", False), ("eager_fp32_cudnn_benchmark", True)):
        torch.backends.cudnn.benchmark = benchmark
        t = time_generator(model, shape, args.runs, args.warmup, device)
        results[name] = {"median_ms": statistics.median(t), "min_ms": min(t), "runs_ms": t}
    report = {
        "benchmark": "PyTorch reference generator (trainer/generator/hyperconv.py), one generation, batch 1, float32 (TF32 off), CUDA events",
        "schedule": args.schedule,
        "parameters": info["parameters"],
        "features": info["features"],
        **results,
        "runs": args.runs,
        "warmup": args.warmup,
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "commit": _commit(),
        "command": f"python -m trainer.bench.generator_torch --schedule {args.schedule} --runs {args.runs} --warmup {args.warmup} --out {args.out}",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(json.dumps({k: v["median_ms"] for k, v in results.items()}), "->", args.out)


if __name__ == "__main__":
    main()
