"""Generation: a pure map from shard plans to shard files, run by any executor, resumable after any crash."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from weightspace.device import check_device, compiler_works
from weightspace.limits import Plan
from weightspace.nets import NetBatch, init_net
from weightspace.nets.graph import Spec
from weightspace.progress import progress_bar
from weightspace.train import fit_stacked, kernels_problem
from weightspace.zoo.config import ZooConfig, wild_kwargs
from weightspace.zoo.lock import zoo_lock
from weightspace.zoo.manifest import ZooError, sha256_json
from weightspace.zoo.plan import ShardPlan, derive_seeds, make_plan
from weightspace.zoo.shards import write_shard
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import finalize, shards_to_make, start_zoo


def shard_spec(config: ZooConfig, shard: ShardPlan) -> Spec:
    if config.wild is not None:
        return config.spec(0, **wild_kwargs(shard.hp))
    overrides = {k: shard.hp[k] for k in ("activation", "dropout") if k in shard.hp}
    return config.spec(shard.hp.get("arch", 0), **overrides)


def plan_specs(config: ZooConfig, plan: Sequence[ShardPlan]) -> list[Spec]:
    """The distinct architectures of a plan, in order of first use."""
    specs: dict[str, Spec] = {}
    for shard in plan:
        spec = shard_spec(config, shard)
        specs.setdefault(spec.model_dump_json(), spec)
    return list(specs.values())


_SPEC_INDEX: dict[str, dict[str, int]] = {}  # per process: config -> {spec JSON: its index in the zoo}


def spec_index(config: ZooConfig, spec: Spec, num_classes: int) -> int:
    """The position of `spec` in the zoo's spec list (computed once per config and process: a wild zoo has one
    spec per shard)."""
    key = config.model_dump_json()
    if key not in _SPEC_INDEX:
        specs = plan_specs(config, make_plan(config, num_classes))
        _SPEC_INDEX[key] = {s.model_dump_json(): i for i, s in enumerate(specs)}
    return _SPEC_INDEX[key][spec.model_dump_json()]


def run_shard(
    root: str,
    config_json: str,
    shard: ShardPlan,
    device: str = "cpu",
    deterministic: bool = True,
    kernels: str | None = None,
) -> dict[str, Any]:
    """Train one shard's networks with the batched engine and write its file. Same inputs, same file."""
    start = time.perf_counter()
    config = ZooConfig.model_validate_json(config_json)
    torch.set_num_threads(config.threads)
    data = config.task_data()
    hp = shard.hp
    spec = shard_spec(config, shard)
    training = config.training.model_copy(
        update={"optimizer": hp["optimizer"], "lr": hp["lr"], "weight_decay": hp["weight_decay"]}
    )
    x_train, y_train = data.x_train, data.y_train
    if hp["train_fraction"] < 1:
        g = torch.Generator().manual_seed(derive_seeds(config.seed, 1_000_000 + shard.id)[0])
        keep = torch.randperm(len(x_train), generator=g)[: max(1, int(len(x_train) * hp["train_fraction"]))].sort()
        x_train, y_train = x_train[keep.values], y_train[keep.values]

    def labels(y: torch.Tensor) -> torch.Tensor:
        return torch.stack([y if n.task < 0 else (y == n.task).long() for n in shard.nets])

    init = NetBatch.of([init_net(spec, n.init_seed, hp["init"]) for n in shard.nets])
    m, k = len(shard.nets), config.order_groups(len(shard.nets))
    order_seeds = [n.order_seed for n in shard.nets]
    if k:  # K order groups: network j is in run j * k // m and shuffles as that run's first network
        runs = [j * k // m for j in range(m)]
        first = {run: order_seeds[runs.index(run)] for run in set(runs)}
        order_seeds = [first[run] for run in runs]
    result = fit_stacked(
        init, x_train, labels(y_train), data.x_test, labels(data.y_test), training,
        order_seeds, config.checkpoints, device, deterministic=deterministic, kernels=kernels,
        compile=True if config.compile else None,
    )  # fmt: skip
    index = spec_index(config, spec, data.num_classes)
    rows, tensors = [], {k: [] for k in init.params}
    for epoch, trained in sorted(result.checkpoints.items()):
        for m, n in enumerate(shard.nets):
            rows.append(
                {
                    "model_id": n.model_id,
                    "task": data.classes[n.task] if n.task >= 0 else "all",
                    "task_index": n.task,
                    "seed": n.init_seed,
                    "order_seed": order_seeds[m],
                    "epoch": epoch,
                    "spec": index,
                    "dataset": config.dataset,
                    "batch_size": training.batch_size,
                    "epochs": training.epochs,
                }
                | hp
                | result.metrics[epoch][m]
            )
        for k in tensors:
            tensors[k].append(trained.params[k])
    config_sha256 = sha256_json(config.model_dump(mode="json"))
    write_shard(Path(root), shard.id, {k: torch.cat(v) for k, v in tensors.items()}, rows, config_sha256)
    return {"shard": shard.id, "networks": len(shard.nets), "seconds": time.perf_counter() - start}


# -- executors: each runs `jobs` through `run_shard` and calls `done` with every result -----------------------------
Job = tuple[str, str, ShardPlan, str, bool, str | None]


def run_serial(jobs: Sequence[Job], done: Callable[[dict], None]) -> None:
    for job in jobs:
        done(run_shard(*job))


def _die_with_parent(parent: int) -> None:
    """Worker initializer: the kernel kills this worker when the parent dies (Linux), even by kill -9."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # not Linux: workers end when they next find the pool gone
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def run_processes(jobs: Sequence[Job], done: Callable[[dict], None], workers: int) -> None:
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_die_with_parent, initargs=(os.getpid(),)
    )
    with pool:
        for future in as_completed([pool.submit(run_shard, *job) for job in jobs]):
            done(future.result())


DASK_CONNECT_TIMEOUT = "10s"  # how long to wait for a scheduler before saying it cannot be reached


def dask_client(address):
    """A connected dask.distributed Client for a scheduler address (a Client is returned as is)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ZooError("the Dask executor needs `pip install 'weightspace[dask]'`") from None
    if isinstance(address, Client):
        return address
    try:
        return Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise ZooError(f"cannot reach the Dask scheduler at {address!r} ({err}); check the address") from None


def run_dask(jobs: Sequence[Job], done: Callable[[dict], None], client) -> None:
    """Hand the same map to a Dask cluster through a connected Client."""
    from dask.distributed import as_completed as dask_completed

    futures = [client.submit(run_shard, *job, pure=False) for job in jobs]
    for future in dask_completed(futures):
        done(future.result())


def generate(
    config: ZooConfig,
    out: str | Path,
    workers: int = 1,
    dask: Any = None,
    device: str = "cpu",
    resume: bool = False,
    console: Console | None = None,
    deterministic: bool = True,
    stop_on_damage: bool = False,
    kernels: str | None = None,
) -> Zoo:
    """Generate (or, with `resume`, complete) the zoo `config` describes in directory `out`.

    workers=1 runs in this process; workers>1 uses a local process pool; `dask` (an address or Client) uses Dask.
    On a GPU, `deterministic=False` uses faster kernels whose results vary in the last bits between runs.
    `kernels` picks how the engine runs convs (`train.KERNELS`; "triton" needs the `triton` extra).
    Every executor writes identical shards, because each shard is a pure function of the config and its plan.

    Everything that can fail (config, device, data, Dask address, the directory) is checked before anything is
    written, and the zoo directory is locked for the whole run. On resume a shard is kept only if it is whole and
    was made by this config as this shard; any other is moved to `ROOT/rejected/` and made again (or, with
    `stop_on_damage`, the run stops and names it).
    """
    config = config.check()
    if workers < 1:
        raise ZooError(f"workers must be at least 1, not {workers}")
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ZooError(f"--out {root} is a file; give a directory for the zoo")
    device = check_device(device)
    if problem := kernels_problem(kernels, device):
        raise ZooError(problem)
    if config.compile and device == "cpu" and not compiler_works():
        raise ZooError("compile: true needs a working C++ compiler for torch.compile; install one or set it false")
    console = console or Console()
    data = config.task_data()
    console.print(preflight(config, data, workers, device).check(root).line(), highlight=False, soft_wrap=True)
    plan = make_plan(config, data.num_classes)
    client = dask_client(dask) if dask is not None else None
    try:
        with zoo_lock(root):
            config_dump = config.model_dump(mode="json")
            manifest = start_zoo(root, config.name, plan_specs(config, plan), config_dump, resume)
            per_net = len(config.checkpoints or [1])
            planned = {s.id: sorted(n.model_id for n in s.nets for _ in range(per_net)) for s in plan}
            todo_ids = set(shards_to_make(root, planned, manifest["config_sha256"], stop_on_damage, console))
            todo = [s for s in plan if s.id in todo_ids]
            _run(root, config, plan, todo, workers, client, device, (deterministic, kernels), console)
            finalize(root, manifest, [s.id for s in plan])
    finally:
        if client is not None and client is not dask:
            client.close()
    return Zoo.open(root)


def step_seconds(spec: Spec, batch: int, x: torch.Tensor, device: str = "cpu") -> float:
    """Seconds of one training step of one network of `spec` on a batch, from its measured forward pass (the median
    of three; a backward pass costs about two forwards). No autograd runs here, in the process that starts workers."""
    from weightspace.nets.graph import build

    module = build(spec).to(device)
    xb = x[:batch].to(device)
    times = []
    with torch.no_grad():
        for _ in range(4):
            start = time.perf_counter()
            module(xb)
            times.append(time.perf_counter() - start)
    return 3 * sorted(times[1:])[1]


def preflight(config: ZooConfig, data, workers: int, device: str) -> Plan:
    """What generating `config` takes: networks, bytes on disk and in memory, and a time from one measured step
    (computed from the config's counts alone, before the plan of every network is made)."""
    tasks = 1 if config.tasks == "multiclass" else len(config.classes or range(data.num_classes))
    networks = tasks * config.per_task
    largest = config.wild.largest() if config.wild else {}
    spec = max((config.spec(i, **largest) for i in range(len(config.archs))), key=lambda s: s.num_params())
    params = spec.num_params()
    rows = networks * len(config.checkpoints or [1])
    n_train = max(1, int(len(data.x_train) * config.train_fraction))
    steps = networks * config.training.epochs * -(-n_train // config.training.batch_size)
    seconds = steps * step_seconds(spec, config.training.batch_size, data.x_train, device) / max(1, workers)
    activations = config.training.batch_size * spec.activation_values() * 4 * 3
    group = min(config.shard_size, networks)
    per_worker = data.x_train.nbytes + data.x_test.nbytes + group * (params * 4 * (4 + len(config.checkpoints or [1])))
    per_worker += (group if device != "cpu" else 1) * activations
    return Plan("zoo generate", networks, params, rows * params * 4, per_worker * max(1, workers), seconds)


def _run(root, config, plan, todo, workers, client, device, engine, console) -> None:
    total = sum(len(s.nets) for s in plan)
    if len(todo) < len(plan):
        console.print(f"resuming {root}: {len(plan) - len(todo)} of {len(plan)} shards already whole", highlight=False)
    with progress_bar(console, "networks") as progress:
        bar = progress.add_task(config.name, total=total, completed=total - sum(len(s.nets) for s in todo))
        start, finished = time.perf_counter(), 0

        def done(result: dict) -> None:
            nonlocal finished
            finished += result["networks"]
            rate = finished / max(time.perf_counter() - start, 1e-9)
            progress.update(bar, advance=result["networks"], description=f"{config.name} ({rate:.2f} net/s)")

        jobs = [(str(root), config.model_dump_json(), shard, device, *engine) for shard in todo]
        if client is not None:
            run_dask(jobs, done, client)
        elif workers > 1:
            run_processes(jobs, done, workers)
        else:
            run_serial(jobs, done)
