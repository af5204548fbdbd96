"""SWAT-NN's two experiments besides the bench: train the multi-scale autoencoder on random MLPs, and search its
latent space for one regression task."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from weightspace.data import load
from weightspace.recipes.base import RecipeConfig
from weightspace.swat import AEConfig, AETraining, SearchConfig, SwatAutoencoder, search, train_autoencoder


class AutoencoderConfig(RecipeConfig):
    model: AEConfig = Field(default_factory=AEConfig)
    training: AETraining = Field(default_factory=AETraining)


def run_autoencoder(config: AutoencoderConfig, out: str | Path, device: str = "cpu", on_eval=None) -> dict:
    """Train (resuming from OUT.ckpt.safetensors) and save OUT.safetensors + OUT.json."""
    out = Path(out).with_suffix("")
    ae, history = train_autoencoder(config.model, config.training, f"{out}.ckpt.safetensors", on_eval, device)
    return {"history": history, "model": str(ae.save(out, history=history))}


class SearchRunConfig(RecipeConfig):
    task: str  # cornn:NAME
    depth: int = Field(2, ge=1, le=4)
    ae: Path = Path("runs/swat/ae")
    search: SearchConfig = Field(default_factory=SearchConfig)


def run_search(config: SearchRunConfig, out: str | Path, device: str = "cpu", on_step=None):
    """Search one task through the depth's decoder; save the extracted Net to OUT. Returns the search result and
    the task data (for the predict-the-mean reference)."""
    data, model = load(config.task), SwatAutoencoder.load(config.ae)
    found = search(model, [data], config.depth, config.search, on_step, device)[0]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    found.net.save(out)
    return found, data
