"""Importers and exporters for zoo formats that exist in the field (one thin file per format), and the registry the
CLI and Python share: `import_zoo(fmt, source, out, ...)`, `export_zoo(fmt, zoo, out)`, `detect_format(source)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from weightspace.errors import WeightspaceError
from weightspace.nets import chain_only

IMPORTS = {
    "seed-keras": "Kurtenbach & Shamir's run folders / published files: binary_oneVall_<class>_<count>_<kind>.h5",
    "keras-h5": "any folder of per-network Keras .h5/.keras files (task from the parent folder)",
    "small-cnn": "Unterthiner et al.'s layout: weights.npy + layout.csv + metrics.csv",
    "safetensors-dir": "a folder of per-network .safetensors (weightspace Nets, or state dicts with --arch)",
    "state-dicts": "a folder of PyTorch .pt/.pth state dicts (restricted loader, never pickle), with --arch",
    "model-zoo": "Schürholt et al.'s Ray Tune trial folders (checkpoint_NNNNNN/checkpoints, params.json, result.json)",
    "cnn-park": "CNN Wild Park's published layout: cnn_park_splits.json + Ray Tune checkpoint.pt files",
    "sentence-transformer": "a saved sentence-transformers BERT model (modules.json, config.json, model.safetensors), "
    "or a folder of them",
    "inr-dir": "per-image INR state dicts as DWSNets / NFN publish them (.pth in class folders, splits JSON)",
}
EXPORTS = {
    "safetensors-dir": "one .safetensors Net per row (spec and metadata in the header)",
    "small-cnn": "weights.npy [N, P] + layout.csv + metrics.csv (+ spec.json), the layout nfn reads",
    "hf-parquet": "a Hugging Face `datasets`-loadable Parquet folder: metadata columns + the flat weights",
}


def detect_format(source: Path) -> str:
    """The import format a folder is in, from what it holds."""
    from weightspace.zoo.formats.seed_keras import SEED_FILE

    source = Path(source)
    if not source.is_dir():
        raise WeightspaceError(f"{source} is not a folder to import")
    names = [p for p in source.rglob("*") if p.is_file()]
    if any(SEED_FILE.fullmatch(p.name) for p in names):
        return "seed-keras"
    if (source / "cnn_park_splits.json").is_file():
        return "cnn-park"
    if any(p.name == "modules.json" for p in names):
        return "sentence-transformer"
    if (source / "weights.npy").is_file():
        return "small-cnn"
    if any(p.name == "params.json" for p in names) and any(p.parent.name.startswith("checkpoint_") for p in names):
        return "model-zoo"
    suffixes = {p.suffix for p in names}
    if suffixes & {".h5", ".keras"}:
        return "keras-h5"
    if ".safetensors" in suffixes:
        return "safetensors-dir"
    if suffixes & {".pt", ".pth"}:
        return "inr-dir" if any(p.suffix == ".json" and "split" in p.name for p in names) else "state-dicts"
    raise WeightspaceError(f"cannot tell the format of {source}; name one of: {', '.join(IMPORTS)}")


KERAS_FORMATS = ("seed-keras", "keras-h5", "small-cnn")


def import_zoo(fmt: str, source: str | Path, out: str | Path, spec=None, **options: Any):
    """Import `source` (a folder) in format `fmt` ("auto" detects it) into the new zoo `out`."""
    source = Path(source)
    fmt = detect_format(source) if fmt == "auto" else fmt
    if fmt in KERAS_FORMATS and spec is not None:
        spec = chain_only(spec, f"the {fmt} importer")  # Keras layouts are read layer by layer
    if fmt == "seed-keras":
        from weightspace.zoo.formats.seed_keras import import_seed_keras

        return import_seed_keras(source, out, spec, **options)
    if options.get("epochs") not in (None, 20):
        raise WeightspaceError("--epochs applies to seed-keras imports only")
    if options.get("tokens") is not None and fmt != "sentence-transformer":
        raise WeightspaceError("--tokens applies to sentence-transformer imports only")
    if fmt == "keras-h5":
        from weightspace.zoo.formats.keras_h5 import import_keras_h5

        files = sorted(p for p in source.rglob("*") if p.suffix in (".h5", ".keras"))
        return import_keras_h5(files, out, spec)
    if fmt == "small-cnn":
        from weightspace.zoo.formats.smallcnn import import_smallcnn

        return import_smallcnn(source, out, spec)
    if fmt == "cnn-park":
        from weightspace.zoo.formats.cnn_park import import_cnn_park

        if spec is not None:
            raise WeightspaceError("CNN Wild Park checkpoints carry their own architectures; drop --arch")
        return import_cnn_park(source, out, **{k: v for k, v in options.items() if k == "image_size" and v})
    if fmt == "sentence-transformer":
        from weightspace.zoo.formats.sentence_transformer import import_sentence_transformer

        if spec is not None:
            raise WeightspaceError("sentence-transformers models carry their own architectures; drop --arch")
        return import_sentence_transformer(source, out, options.get("tokens"))
    if fmt == "safetensors-dir":
        from weightspace.zoo.formats.statedicts import import_statedicts

        return import_statedicts(source, out, spec)
    if fmt in ("state-dicts", "model-zoo", "inr-dir"):
        from weightspace.zoo.formats import torchfiles

        return {"state-dicts": torchfiles.import_state_dicts, "model-zoo": torchfiles.import_model_zoo,
                "inr-dir": torchfiles.import_inr_dir}[fmt](source, out, spec)  # fmt: skip
    raise WeightspaceError(f"unknown format {fmt!r}; choose auto or one of: {', '.join(IMPORTS)}")


def export_zoo(fmt: str, zoo, out: str | Path) -> Path:
    """Write `zoo` in format `fmt` to `out`."""
    if fmt == "small-cnn":
        from weightspace.zoo.formats.smallcnn import export_smallcnn

        return export_smallcnn(zoo, out)
    if fmt == "safetensors-dir":
        from weightspace.zoo.formats.statedicts import export_statedicts

        export_statedicts(zoo, out)
        return Path(out)
    if fmt == "hf-parquet":
        from weightspace.zoo.formats.hf import export_hf_parquet

        return export_hf_parquet(zoo, out)
    raise WeightspaceError(f"unknown format {fmt!r}; choose one of: {', '.join(EXPORTS)}")
