"""Recipes: the experiments, one file each, built from the components below them.

Each recipe has a pydantic config, the one source of its defaults, and a run function taking (config, out,
device), which writes its results into `out` and returns them. `weightspace run NAME --config FILE.yaml
[key=value ...]` runs any of them; `configs/` holds the config behind each published table. The CLI's other
commands and the benchmarks are thin callers of these. Names are imported on first use.
"""

from weightspace.faces import lazy_face

__all__ = [
    "CEILING", "AutoencoderConfig", "DemoConfig", "EncoderTrainingConfig", "GeneratorTrainingConfig",
    "LanguageModelConfig", "Net2NetConfig", "RECIPES", "Recipe", "SearchRunConfig", "StaticHyperConfig",
    "SwatBenchConfig", "ZooConfig", "embed_zoo", "evaluate_on_zoo", "language_model_config", "net2net_table",
    "recipe", "recipe_config", "run_autoencoder", "run_demo", "run_encoder", "run_language_model", "run_net2net",
    "run_search", "run_static_hyper", "run_swat_bench", "run_zoo", "run_zoo_generator", "split_rows",
    "train_on_zoo", "write_generated",
]  # fmt: skip
__getattr__ = lazy_face(
    __name__,
    {
        "registry": ["RECIPES", "Recipe", "recipe", "recipe_config"],
        "demo": ["DemoConfig", "run_demo=run"],
        "zoo": ["ZooConfig", "run_zoo=run"],
        "encoder": ["EncoderTrainingConfig", "run_encoder=run", "train_on_zoo", "evaluate_on_zoo", "embed_zoo",
                    "split_rows"],
        "net2net": ["Net2NetConfig", "run_net2net=run", "net2net_table=results_table"],
        "static_hyper": ["StaticHyperConfig", "run_static_hyper=run"],
        "language_model": ["LanguageModelConfig", "run_language_model=run", "language_model_config=model_config"],
        "zoo_generator": ["GeneratorTrainingConfig", "run_zoo_generator=run", "write_generated"],
        "swat": ["AutoencoderConfig", "run_autoencoder", "SearchRunConfig", "run_search"],
        "swat_bench": ["SwatBenchConfig", "run_swat_bench=run", "CEILING"],
    },
)  # fmt: skip
