"""The stacked SIREN fitter against a per-INR loop and a plain stacked autograd step, in one run.

    python benchmarks/inr_fit.py --publish [--threads 2] [--batches 16,32,64,250]

All fit DWSNets' INR (2-32-32-1, w0 30, Adam 5e-4) to real Fashion-MNIST images, full 784-pixel batches, no early
stop, timed over `--steps` steps after a warm-up: the loop one INR at a time (nn.Module, autograd, torch's Adam:
what a per-image script does), the plain stacked step (the same maths on [n, ...] tensors through autograd and
torch's Adam), and `train.siren.fit_sirens` (hand-written forward/backward and Adam), eager and compiled, at several
batch sizes. Throughput is INR-steps per second; the projection is 70,000 INRs x 1,000 steps at the best rate.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from harness import add_output, output_path  # noqa: E402 (benchmarks/ on the path when run as a script)

from weightspace.data import load
from weightspace.train import SirenFit, fit_sirens, init_sirens, pixel_grid


def adam_seconds(loss_of, opt: torch.optim.Optimizer, steps: int) -> float:
    """Seconds for `steps` Adam steps on the loss `loss_of()` gives, after one warm-up step."""
    for i in range(steps + 1):
        if i == 1:
            start = time.perf_counter()
        loss = loss_of()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def loop_rate(targets, coords, fit: SirenFit, steps: int) -> float:
    """INR-steps/s of one INR at a time (autograd + torch.optim.Adam), over the INRs in `targets`."""
    total = 0.0
    params_all = init_sirens(range(len(targets)), 2, fit)
    for i in range(len(targets)):
        params = [p[i].clone().requires_grad_() for p in params_all]

        def loss_of(params=params, i=i):
            h = coords
            for w, b in zip(params[:-2:2], params[1:-2:2]):
                h = torch.sin(fit.w0 * (h @ w.T + b))
            return ((h @ params[-2].T + params[-1])[:, 0] + fit.offset - targets[i]).pow(2).mean()

        total += adam_seconds(loss_of, torch.optim.Adam(params, lr=fit.lr), steps)
    return len(targets) * steps / total


def stacked_autograd_rate(targets, coords, fit: SirenFit, steps: int) -> float:
    """INR-steps/s of the plain stacked step: [n, ...] parameters, autograd, torch's Adam."""
    params = [p.clone().requires_grad_() for p in init_sirens(range(len(targets)), 2, fit)]
    x = coords.T.expand(len(targets), -1, -1)

    def loss_of():
        h = x
        for w, b in zip(params[:-2:2], params[1:-2:2]):
            h = torch.sin(fit.w0 * torch.baddbmm(b[..., None], w, h))
        out = torch.baddbmm(params[-1][..., None], params[-2], h)[:, 0] + fit.offset
        return (out - targets).pow(2).mean(1).sum()

    return len(targets) * steps / adam_seconds(loss_of, torch.optim.Adam(params, lr=fit.lr), steps)


def fitter_rate(targets, coords, fit: SirenFit, steps: int, batch: int, compiled: bool) -> float:
    timed = SirenFit(**{**fit.__dict__, "steps": steps, "stop_psnr": None})
    warm = SirenFit(**{**timed.__dict__, "steps": 2})
    for n in (batch, batch - 1):  # compile for this size and for sizes in general (torch's automatic dynamic)
        fit_sirens(targets[:n], coords, range(n), warm, compiled=compiled)
    start = time.perf_counter()
    for b in range(0, len(targets), batch):
        part = targets[b : b + batch]
        fit_sirens(part, coords, range(b, b + len(part)), timed, compiled=compiled)
    return len(targets) * steps / (time.perf_counter() - start)


def markdown(report: dict) -> str:
    rates = report["inr_steps_per_s"]
    loop, plain = rates["per-INR loop"], rates["plain stacked autograd"]
    lines = [
        f"{report['protocol']}, {report['machine']}",
        "",
        "| method | INR-steps/s | vs per-INR loop | vs plain stacked |",
    ]
    lines.append("|---|---:|---:|---:|")
    lines += [f"| {name} | {r:,.0f} | {r / loop:.1f}x | {r / plain:.2f}x |" for name, r in rates.items()]
    lines.append(f"\n70,000 INRs x 1,000 steps at the best rate: {report['projected_full_set_hours']:.1f} hours")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--inrs", type=int, default=1000, help="INRs per stacked measurement")
    p.add_argument("--loop-inrs", type=int, default=4)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batches", default="16,32,64,250")
    add_output(p, "inr_fit_cpu.json")
    p.add_argument("--report-only", action="store_true", help="print and store the table of an existing --out json")
    args = p.parse_args()
    out = output_path(args, "inr_fit_cpu.json")
    if args.report_only:
        out.with_suffix(".md").write_text(markdown(json.loads(out.read_text())) + "\n")
        return print(markdown(json.loads(out.read_text())))
    torch.set_num_threads(args.threads)
    data = load("fashion-mnist")
    targets = data.x_train[: args.inrs].reshape(args.inrs, -1)
    coords = pixel_grid(28, 28)
    fit = SirenFit()

    loop = loop_rate(targets[: args.loop_inrs], coords, fit, args.steps)
    plain = stacked_autograd_rate(targets, coords, fit, args.steps)
    batches = [int(b) for b in args.batches.split(",")]
    rows = {f"fit_sirens eager, batch {batches[0]}": fitter_rate(targets, coords, fit, args.steps, batches[0], False)}
    rows |= {f"fit_sirens compiled, batch {b}": fitter_rate(targets, coords, fit, args.steps, b, True) for b in batches}
    best = max(rows.values())
    report = {
        "machine": f"CPU, {args.threads} threads",
        "protocol": f"SIREN 2-32-32-1 on {args.inrs} Fashion-MNIST images, {args.steps} timed steps",
        "inr_steps_per_s": {"per-INR loop": loop, "plain stacked autograd": plain, **rows},
        "best_vs_loop": best / loop,
        "best_vs_plain_stacked": best / plain,
        "projected_full_set_hours": 70000 * 1000 / best / 3600,
    }
    print(markdown(report))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text(markdown(report) + "\n")


if __name__ == "__main__":
    main()
