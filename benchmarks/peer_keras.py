"""The seed's Keras training against `weightspace zoo generate`: same images, same machine, interleaved runs.

    pip install -e '.[peers]'          # TensorFlow: a benchmark extra, never a dependency of the package
    python benchmarks/peer_keras.py --publish [--load --out benchmarks/results/peer_keras_cpu_load.json]

The seed's protocol (Kurtenbach & Shamir): LeNet-5 (conv 6@5x5 same, avgpool, conv 16@5x5, avgpool, conv 120@5x5,
dense 84, dense 1; tanh, sigmoid out), Glorot-uniform init, Adam 1e-3, binary cross-entropy, batch 128, a 1,024-image
shuffle buffer, validation after every epoch, the best weights by validation loss saved, test metrics at the end.
Keras runs it as the seed wrote it (`mixed_float16`, which a CPU emulates) and in float32; weightspace runs the
whole `zoo generate` command (start-up, data, training, evaluation, writing) with `--workers` processes of one
thread each, eager or `--compile`d. Every variant trains one-vs-rest detectors on the same images: Fashion-MNIST
resized to 32x32x3, written once as an ImageNette-layout JPEG folder and decoded by weightspace's ImageNette loader;
Keras gets exactly the decoded tensors. Runs alternate variant by variant; min and median wall times are reported,
as networks/min.

`--load` adds a busy process pinned to no core (a one-thread matmul loop) during every run: the spread (max/min) of
each variant's wall times under other load is the stability figure. The useful-work figure counts one network's
training FLOPs (forward + backward of every training image, torch's FLOP counter) over the whole command's wall
time, against this machine's dense-matmul rate on all its cores, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)

HERE = Path(__file__).resolve()


# -- the Keras side: runs in a child process, so TensorFlow never shares a process with torch ------------------------
def keras_job(npz: str, out: str, networks: int, epochs: int, mixed: bool) -> None:
    import keras
    import tensorflow as tf
    from keras import layers

    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    data = np.load(npz)
    x_tr, y_tr, x_te, y_te = data["x_train"], data["y_train"], data["x_test"], data["y_test"]

    def build_lenet5():
        return keras.Sequential(
            [
                keras.Input((32, 32, 3)),
                layers.Conv2D(6, 5, padding="same", activation="tanh"),
                layers.AveragePooling2D(2),
                layers.Conv2D(16, 5, activation="tanh"),
                layers.AveragePooling2D(2),
                layers.Conv2D(120, 5, activation="tanh"),
                layers.Flatten(),
                layers.Dense(84, activation="tanh"),
                layers.Dense(1, activation="sigmoid", dtype="float32"),
            ]
        )

    for n in range(networks):
        task = n % 10
        keras.utils.set_random_seed(n)
        model = build_lenet5()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
        train = tf.data.Dataset.from_tensor_slices((x_tr, (y_tr == task).astype("float32")))
        train = train.shuffle(1024, seed=n).batch(128)
        val = tf.data.Dataset.from_tensor_slices((x_te, (y_te == task).astype("float32"))).batch(128)
        path = f"{out}/binary_oneVall_{task}_{n}_best_model.weights.h5"
        best = keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True, save_weights_only=True)
        model.fit(train, epochs=epochs, validation_data=val, callbacks=[best], verbose=0)
        model.load_weights(path)
        p = model.predict(val, verbose=0)[:, 0]
        truth = y_te == task
        acc = float(((p > 0.5) == truth).mean())
        with open(f"{out}/metrics.csv", "a") as f:
            f.write(f"{task},{n},{acc}\n")


# -- the driver ------------------------------------------------------------------------------------------------------
def make_images(folder: Path, n_train: int, n_val: int) -> None:
    """Fashion-MNIST's first images, 32x32 RGB JPEGs in the ImageNette folder layout (train/<class>/, val/<class>/)."""
    import torch.nn.functional as F
    from PIL import Image

    from weightspace.data import load

    data = load("fashion-mnist")
    for split, x, y in (
        ("train", data.x_train[:n_train], data.y_train[:n_train]),
        ("val", data.x_test[:n_val], data.y_test[:n_val]),
    ):
        big = F.interpolate(x, size=32, mode="bilinear", align_corners=False).clamp(0, 1)
        for i, (img, label) in enumerate(zip(big, y)):
            (folder / split / f"c{int(label)}").mkdir(parents=True, exist_ok=True)
            arr = (img[0].numpy() * 255).round().astype(np.uint8)
            Image.fromarray(np.stack([arr] * 3, -1)).save(folder / split / f"c{int(label)}" / f"{i}.JPEG", quality=95)


def matmul_rate(threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    start, reps = time.perf_counter(), 10
    for _ in range(reps):
        a @ b
    return 2 * 2048**3 * reps / (time.perf_counter() - start)


def training_flops(images: int) -> float:
    """FLOPs of one network's training epoch: forward + backward over `images` (torch's FLOP counter)."""
    from yardsticks import lenet5_step_flops  # benchmarks/, beside this script

    return lenet5_step_flops(128) * images / 128


def busy_loop() -> subprocess.Popen:
    code = "import torch; torch.set_num_threads(1); a = torch.randn(512, 512)\nwhile True: a @ a"
    return subprocess.Popen([sys.executable, "-c", code])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--networks", type=int, default=16, help="networks per run (Keras float32 and weightspace)")
    p.add_argument("--mixed-networks", type=int, default=2, help="networks per run of the seed's mixed_float16")
    p.add_argument("--images", type=int, default=2000, help="training images")
    p.add_argument("--val", type=int, default=500, help="validation images")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--load", action="store_true", help="run a busy one-thread process beside every run")
    p.add_argument("--variants", default="keras-float32,keras-mixed_float16,weightspace,weightspace-compiled")
    add_output(p, "peer_keras_cpu.json")
    p.add_argument(
        "--keras-job", nargs=5, metavar=("NPZ", "OUT", "NETWORKS", "EPOCHS", "MIXED"), help=argparse.SUPPRESS
    )
    args = p.parse_args()
    if args.keras_job:
        npz, out, networks, epochs, mixed = args.keras_job
        return keras_job(npz, out, int(networks), int(epochs), mixed == "1")

    import yaml

    from weightspace.data import load

    work = Path(tempfile.mkdtemp(prefix="peer_keras_"))
    make_images(work / "images", args.images, args.val)
    data = load("imagenette", work / "images", 32)
    npz = work / "images.npz"
    to_nhwc = lambda t: t.permute(0, 2, 3, 1).numpy()  # noqa: E731
    np.savez(
        npz,
        x_train=to_nhwc(data.x_train),
        y_train=data.y_train.numpy(),
        x_test=to_nhwc(data.x_test),
        y_test=data.y_test.numpy(),
    )
    per_task = -(-args.networks // 10)
    classes = list(range(min(10, args.networks)))
    config = {
        "name": "peer-keras",
        "dataset": "imagenette",
        "data_root": str(work / "images"),
        "image_size": 32,
        "arch": {"preset": "lenet5-seed", "kwargs": {"input_shape": [3, 32, 32]}},
        "classes": classes,
        "per_task": per_task,
        "training": {"optimizer": "adam", "lr": 1e-3, "epochs": args.epochs, "batch_size": 128},
        "init": "glorot_uniform",
        "shard_size": -(-per_task * len(classes) // args.workers),
    }
    (work / "zoo.yaml").write_text(yaml.safe_dump(config))
    ws_networks = per_task * len(classes)
    weightspace = [
        str(Path(sys.executable).parent / "weightspace"),
        "zoo",
        "generate",
        "--config",
        str(work / "zoo.yaml"),
        "--workers",
        str(args.workers),
    ]

    def command(variant: str, out: Path) -> tuple[list[str], int]:
        if variant.startswith("weightspace"):
            return [*weightspace, "--out", str(out)] + (
                ["--compile"] if variant.endswith("compiled") else []
            ), ws_networks
        mixed = variant.endswith("mixed_float16")
        n = args.mixed_networks if mixed else args.networks
        out.mkdir()
        return [
            sys.executable,
            str(HERE),
            "--keras-job",
            str(npz),
            str(out),
            str(n),
            str(args.epochs),
            str(int(mixed)),
        ], n

    variants = args.variants.split(",")
    walls: dict[str, list[float]] = {v: [] for v in variants}
    networks: dict[str, int] = {}
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    for rep in range(args.reps):
        for v in variants:
            cmd, networks[v] = command(v, work / f"{v}-{rep}")
            load_proc = busy_loop() if args.load else None
            start = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if load_proc:
                load_proc.kill()
                load_proc.wait()
            if done.returncode:
                sys.exit(f"{v} failed:\n{done.stderr[-3000:]}")
            walls[v].append(wall)
            print(
                f"rep {rep + 1}/{args.reps} {v:22s} {wall:7.2f} s  {networks[v] * 60 / wall:7.1f} networks/min",
                flush=True,
            )

    threads = os.cpu_count() or 1
    peak = matmul_rate(threads)
    flops = training_flops(args.images) * args.epochs
    rows = {}
    for v in variants:
        best, median = min(walls[v]), statistics.median(walls[v])
        rows[v] = {
            "networks": networks[v],
            "walls_s": walls[v],
            "best_networks_per_min": networks[v] * 60 / best,
            "median_networks_per_min": networks[v] * 60 / median,
            "spread_max_over_min": max(walls[v]) / best,
            "useful_flops_fraction_of_matmul": flops * networks[v] / median / peak,
        }
    for v, r in rows.items():  # how many times the networks/min of each Keras run (median over median)
        for peer in ("keras-float32", "keras-mixed_float16"):
            if peer in rows and v != peer:
                r[f"vs_{peer}"] = r["median_networks_per_min"] / rows[peer]["median_networks_per_min"]
    report = {
        "machine": f"{threads} CPU cores",
        "load": "one busy one-thread process beside every run" if args.load else "none added",
        "protocol": f"{args.images} train / {len(data.x_test)} val images 32x32x3 (Fashion-MNIST as JPEGs), "
        f"{args.epochs} epoch(s), batch 128, Adam 1e-3, BCE, weightspace --workers {args.workers}",
        "matmul_flops": peak,
        "training_flops_per_network": flops,
        "variants": rows,
    }
    print(f"\nmatmul {peak / 1e9:.0f} GFLOP/s on {threads} threads; load: {report['load']}\n")
    print("| variant | networks/run | best networks/min | median | spread max/min | vs Keras float32 | "
          "vs Keras mixed_float16 | useful work |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for v, r in rows.items():
        ratios = [f"{r[k]:.1f}x" if k in r else "—" for k in ("vs_keras-float32", "vs_keras-mixed_float16")]
        rates = f"{r['best_networks_per_min']:.1f} | {r['median_networks_per_min']:.1f}"
        useful = f"{r['useful_flops_fraction_of_matmul']:.0%}"
        print(
            f"| {v} | {r['networks']} | {rates} | {r['spread_max_over_min']:.2f}x | {' | '.join(ratios)} | {useful} |"
        )
    write_result(args, "peer_keras_cpu.json", report)


if __name__ == "__main__":
    main()
