"""Recipes: the experiments, one file each, built from the components below them.

Each recipe has a pydantic config (loadable from YAML: `Config.from_yaml(path)`) and `run(config, out, device)`,
which writes its results into `out` and returns them. The CLI and the benchmarks are thin callers of these.
"""
