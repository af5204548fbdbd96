"""10,000 seed files import in bounded memory: the importer holds one shard of networks at a time."""

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import resource, sys, time
    from pathlib import Path
    import h5py, numpy as np
    from weightspace.nets import mlp
    from weightspace.zoo.formats.seed_keras import import_seed_keras

    n, folder, out = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        with h5py.File(folder / f"binary_oneVall_tench_{i}_best_model.weights.h5", "w") as f:
            for name, shape in (("dense", (64, 32)), ("dense_1", (32, 1))):
                group = f.create_group(f"layers/{name}/vars")
                group["0"] = rng.standard_normal(shape).astype(np.float32)
                group["1"] = np.zeros(shape[1], np.float32)
    start = time.perf_counter()
    zoo = import_seed_keras(folder, out, spec=mlp(64, [32], 1, activation="relu"), shard_size=256)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(len(zoo), f"{seconds:.1f}", f"{peak:.0f}")
    """
)


def import_run(n: int, tmp_path) -> tuple[int, float, float]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(n), str(tmp_path / f"in{n}"), str(tmp_path / f"zoo{n}")],
        capture_output=True, text=True, timeout=1800, check=True,
    )  # fmt: skip
    rows, seconds, peak_mb = proc.stdout.split()[-3:]
    return int(rows), float(seconds), float(peak_mb)


@pytest.mark.slow
def test_ten_thousand_files_import_in_bounded_memory(tmp_path):
    small = import_run(1_000, tmp_path)
    large = import_run(10_000, tmp_path)
    assert small[0] == 1_000 and large[0] == 10_000
    print(f"1,000 files: {small[1]} s, peak {small[2]} MB; 10,000 files: {large[1]} s, peak {large[2]} MB")
    assert large[2] < small[2] * 1.25  # ten times the files, about the same peak memory
