"""The floors of the house, enforced: which package may import which (docs/architecture.md), and only names a
package lists in its `__all__` cross a package boundary, through the package's face (`from weightspace.zoo import
Zoo`, never `weightspace.zoo.store`): in the library, its CLI, the benchmarks and the scripts alike."""

import ast
import importlib
import types
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "weightspace"
BASE = {"errors", "fileio", "device", "progress", "seeding", "limits", "faces"}
ROOT = SRC.parents[1]
DATA_MODEL = BASE | {"nets", "data", "train"}
COMPONENTS = {"zoo", "encode", "hyper", "grow", "swat"}
ALLOWED = {  # package -> the packages it may import (besides itself)
    "errors": set(),
    "fileio": {"errors", "limits"},
    "device": {"errors"},
    "progress": set(),
    "seeding": set(),
    "limits": {"errors"},
    "faces": set(),
    "nets": {"errors", "fileio", "seeding", "limits"},
    "data": {"errors", "fileio", "limits"},
    "train": BASE | {"nets", "data"},
    "zoo": DATA_MODEL,
    "encode": DATA_MODEL | {"zoo"},
    "hyper": DATA_MODEL | {"zoo"},
    "grow": DATA_MODEL,
    "swat": DATA_MODEL,
    "report": DATA_MODEL | COMPONENTS,
    "recipes": DATA_MODEL | COMPONENTS | {"report"},
    "cli": DATA_MODEL | COMPONENTS | {"report", "recipes"},
}


def imports(roots=(SRC,)):
    """(importing package, file, line, imported module, names) for every `from weightspace... import` under
    `roots`; the package of a file outside src is its folder (benchmarks, scripts)."""
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            yield from _imports_of(path, path.relative_to(SRC).parts[0] if root == SRC else root.name)


def _imports_of(path: Path, package: str):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("weightspace."):
            yield package, path.relative_to(ROOT), node.lineno, node.module, [a.name for a in node.names]


def test_every_package_imports_only_the_floors_below_it():
    bad = []
    for package, path, line, module, _ in imports():
        target = module.split(".")[1]
        if package in ALLOWED and target != package and target not in ALLOWED[package]:
            bad.append(f"{path}:{line} {package} -> {target}")
    assert not bad, "imports against the floors:\n" + "\n".join(bad)


def test_only_public_names_cross_a_package_boundary_through_its_face():
    bad = []
    for package, path, line, module, names in imports((SRC, ROOT / "benchmarks", ROOT / "scripts")):
        target = module.split(".")[1]
        if target == package.removesuffix(".py") or package == "__main__.py":
            continue
        package_module = importlib.import_module(f"weightspace.{target}")
        public = set(getattr(package_module, "__all__", ()))
        sub = module.split(".")[2] if module.count(".") >= 2 else None
        if sub in public and isinstance(getattr(package_module, sub, None), types.ModuleType):
            continue  # a public submodule (e.g. zoo.formats)
        if sub is not None:
            bad.append(f"{path}:{line} {module}: import from weightspace.{target}")
        bad += [f"{path}:{line} {module}.{n}" for n in names if n not in public]
    assert not bad, "imports across packages past the face or of names not in its __all__:\n" + "\n".join(bad)


def test_every_name_a_face_lists_is_there():
    for package in sorted(ALLOWED):
        module = importlib.import_module(f"weightspace.{package}")
        for name in getattr(module, "__all__", ()):
            assert getattr(module, name, None) is not None, f"weightspace.{package}.{name}"


def test_no_component_imports_matplotlib_or_report_at_import_time():
    import subprocess
    import sys

    code = "import sys, weightspace.zoo, weightspace.encode, weightspace.hyper, weightspace.grow, weightspace.swat; " \
           "print('matplotlib' in sys.modules, 'weightspace.report' in sys.modules)"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_library_calls_leave_the_callers_random_state_alone():
    import numpy as np
    import torch

    from weightspace.encode import EncoderConfig, FitConfig, Part, Predictor, WeightBatch, fit_predictor
    from weightspace.hyper import LMConfig, LMTraining, static_model, train_lm
    from weightspace.nets import Net, mlp, preset

    torch.manual_seed(123)
    net = Net.init(mlp(3, [4], 2), seed=0)
    part = Part(WeightBatch.of([net, net]), torch.tensor([0.0, 1.0]), np.arange(2))
    config = EncoderConfig(kind="statnn", target="t", task="regression").with_example(part.batch)
    model = Predictor(config)  # building a module draws from the global generator: the caller's own doing
    before = torch.get_rng_state()
    Net.init(mlp(3, [4], 2), seed=5)
    static_model(preset("small-cnn"), [], seed=1)
    ids = torch.arange(400) % 7
    train_lm(LMConfig(kind="lstm", vocab="abcdefg", hidden=8), ids, ids[:100], LMTraining(steps=2, seq_len=10, batch=4))
    fit_predictor(model, [part], None, FitConfig(epochs=1, batch_size=2))
    assert torch.equal(torch.get_rng_state(), before)


def _module_graph() -> dict[str, set[str]]:
    """Module -> the weightspace modules it imports (at any depth of its code; `if TYPE_CHECKING:` blocks, which
    never run, left out). A package's face imports what its `__init__.py` names."""
    modules = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ("weightspace", *path.relative_to(SRC).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        edges = set()
        for node in ast.walk(tree):
            if id(node) in skipped or not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if node.module.startswith("weightspace"):
                for alias in node.names:  # a submodule imported by name counts as that module
                    target = f"{node.module}.{alias.name}"
                    edges.add(target if target in modules else node.module)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def test_no_import_circles():
    graph, circles = _module_graph(), []

    def walk(node, trail):
        for nxt in graph[node]:
            if nxt in trail:
                circles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in done:
                walk(nxt, [*trail, nxt])
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            walk(start, [start])
    # a package's face importing its own modules, and those modules importing siblings, is not a circle unless a
    # module imports its package's face back
    assert circles == []
