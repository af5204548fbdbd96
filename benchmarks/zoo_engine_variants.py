"""Which stacked-forward formulation trains M LeNet-5s fastest? One training step (Adam) per variant, same run.

    python benchmarks/zoo_engine_variants.py cuda 256 [OUT.json]

The seed's LeNet-5 on 3x32x32 inputs, batch 128. This script on an H100 (2026-11-23), M = 256:

| variant | ms/step | net-epochs/s | rel. error vs vmap |
|---|---:|---:|---:|
| vmap(functional_call), float32 (the first engine) | 122.4 | 28.3 | 0 |
| explicit grouped convs, float32 | 121.9 | 28.4 | 0 |
| unfold + bmm convs, float32 | 66.4 | 52.1 | 4e-4 |
| explicit grouped convs, bf16 autocast | 32.3 | 107.1 | 5e-3 |
| unfold + bmm, TF32, torch.compile (the engine with --fast-gpu) | 31.8 | 108.8 | 5e-4 |

On 2 CPU cores (`cpu 4`) vmap and grouped convs are within run-to-run noise of each other and unfold + bmm is about
2.5x slower, so the engine uses grouped convs on the CPU and unfold + bmm on CUDA (`StackedModel.unfold_convs`).
"""

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call
from yardsticks import matmul_tflops  # benchmarks/, beside this script

from weightspace.nets import NetBatch, build, init_net, lenet5_seed
from weightspace.train import StackedModel, logits_of

RESULTS: list[dict] = []


def timed_step(name, forward, init, x, y, m, device, amp=False, reference=None, fused=False, whole=False):
    """ms per training step (forward, backward, Adam) of M stacked LeNet-5s; `fused`: fused Adam over the stacked
    tensors; `whole`: the whole step under torch.compile."""
    params = {k: v.clone().requires_grad_() for k, v in init.items()}
    opt = torch.optim.Adam(params.values(), 1e-3, fused=fused or None)
    with torch.no_grad(), torch.autocast("cuda", torch.bfloat16, enabled=amp):
        out = forward(params, x)[..., 0].float()
    error = 0.0 if reference is None else ((out - reference).norm() / reference.norm()).item()

    def step():
        with torch.autocast("cuda", torch.bfloat16, enabled=amp):
            loss = F.binary_cross_entropy_with_logits(forward(params, x)[..., 0].float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    if whole:
        step = torch.compile(step)

    for _ in range(3):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start, reps = time.perf_counter(), 10
    for _ in range(reps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    ms = (time.perf_counter() - start) / reps * 1000
    rate = m / (ms * 74 / 1000)  # network-epochs/s: an epoch is 74 steps of 128 (ImageNette's 9,469 images)
    print(f"| {name} | {ms:.1f} | {rate:.1f} | {error:.0e} |", flush=True)
    RESULTS.append({"variant": name, "m": m, "ms_per_step": ms, "network_epochs_per_s": rate, "rel_error": error})
    return out


def try_step(*args, **kwargs):
    """A variant that fails on this machine is reported, not fatal to the others."""
    try:
        return timed_step(*args, **kwargs)
    except Exception as err:  # compile and fused kernels fail in many ways across versions
        print(f"| {args[0]} | failed: {type(err).__name__}: {str(err).splitlines()[0][:120]} | | |", flush=True)
        RESULTS.append({"variant": args[0], "m": args[5], "error": f"{type(err).__name__}: {err}"[:500]})


def main() -> None:
    device, m = sys.argv[1], int(sys.argv[2])
    spec = lenet5_seed()
    init = {
        k: v.to(device) for k, v in NetBatch.of([init_net(spec, i, "glorot_uniform") for i in range(m)]).params.items()
    }
    x = torch.rand(m, 128, 3, 32, 32, device=device)
    y = (torch.rand(m, 128, device=device) < 0.1).float()
    grouped, unfold = StackedModel(spec, device, compile=False), StackedModel(spec, device, compile=False)
    grouped.unfold_convs, unfold.unfold_convs = False, True
    module = logits_of(spec, build(spec)).to(device)

    def vmapped(params, x):  # the first engine: torch.func over the plain module
        return torch.vmap(lambda p, xb: functional_call(module, p, (xb,)), randomness="different")(params, x)

    print("| variant | ms/step | net-epochs/s | rel. error |\n|---|---:|---:|---:|")
    ref = timed_step("vmap(functional_call) float32", vmapped, init, x, y, m, device)
    timed_step("grouped float32", grouped.forward, init, x, y, m, device, reference=ref)
    timed_step("unfold + bmm float32", unfold.forward, init, x, y, m, device, reference=ref)
    if device == "cuda":
        timed_step("grouped bf16", grouped.forward, init, x, y, m, device, amp=True, reference=ref)
        try_step(
            "grouped bf16, fused Adam", grouped.forward, init, x, y, m, device, amp=True, reference=ref, fused=True
        )
        torch.set_float32_matmul_precision("high")
        fast = StackedModel(spec, device)  # compiled unfold + bmm
        timed_step("unfold + bmm TF32 compiled", fast.forward, init, x, y, m, device, reference=ref)
        try_step("unfold + bmm TF32 compiled, fused Adam", fast.forward, init, x, y, m, device, reference=ref,
                 fused=True)  # fmt: skip
        try_step("unfold + bmm bf16 compiled, fused Adam", fast.forward, init, x, y, m, device, amp=True,
                 reference=ref, fused=True)  # fmt: skip
        try_step("unfold + bmm bf16, whole step compiled, fused Adam", unfold.forward, init, x, y, m, device,
                 amp=True, reference=ref, fused=True, whole=True)  # fmt: skip
    rates = {str(d): matmul_tflops(device, d) for d in ([torch.float32, torch.bfloat16] if device == "cuda"
                                                        else [torch.float32])}  # fmt: skip
    if device == "cuda":
        rates["tf32"] = matmul_tflops(device, torch.float32, "high")
    print(f"measured matmul TFLOP/s: {rates}", flush=True)
    if len(sys.argv) > 3:
        import json

        name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
        Path(sys.argv[3]).write_text(json.dumps({"device": name, "m": m, "matmul_tflops": rates, "variants": RESULTS},
                                                indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
