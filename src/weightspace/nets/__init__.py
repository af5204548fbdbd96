"""The data model every area shares: specs (a chain, ArchSpec, or a graph, GraphSpec), Net (one network), NetBatch
(many networks of one spec), builders, presets, symmetry."""

from weightspace.nets import graph  # the graph ops, a public submodule
from weightspace.nets.batch import NetBatch
from weightspace.nets.bert import BertShape, bert_spec, bert_tensors
from weightspace.nets.features import layer_statistics
from weightspace.nets.graph import (
    GraphModule,
    GraphSpec,
    Node,
    Spec,
    as_graph,
    build,
    build_graph,
    chain_only,
    load_spec,
)
from weightspace.nets.graph_presets import GRAPH_PRESETS, inception_small, resnet, resnet18, vit_tiny, wild_cnn, wrn
from weightspace.nets.graph_symmetry import unit_groups
from weightspace.nets.init import INIT_SCHEMES, init_net
from weightspace.nets.net import Layout, Net, Slot, check_params, count_parameters, state_for
from weightspace.nets.presets import ARCH_PRESETS, lenet5_classic, lenet5_seed, mlp, preset, resolve_spec, small_cnn
from weightspace.nets.spec import (
    ACTIVATIONS,
    PARAMETRIC,
    Activation,
    ArchSpec,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    GlobalPool,
    Linear,
    Pool2d,
)
from weightspace.nets.symmetry import (
    Permutation,
    align,
    hidden_layers,
    match_units,
    permute,
    random_permutation,
    sign_symmetric,
)
from weightspace.nets.trace import graph_of, spec_of

__all__ = [
    "graph",
    "ACTIVATIONS",
    "BertShape",
    "bert_spec",
    "bert_tensors",
    "ARCH_PRESETS",
    "GRAPH_PRESETS",
    "GraphModule",
    "GraphSpec",
    "Node",
    "build_graph",
    "Spec",
    "as_graph",
    "chain_only",
    "load_spec",
    "graph_of",
    "inception_small",
    "resnet",
    "vit_tiny",
    "resnet18",
    "wild_cnn",
    "wrn",
    "Activation",
    "ArchSpec",
    "BatchNorm",
    "Conv2d",
    "Dropout",
    "Flatten",
    "GlobalPool",
    "INIT_SCHEMES",
    "Layout",
    "Linear",
    "Net",
    "NetBatch",
    "count_parameters",
    "PARAMETRIC",
    "Permutation",
    "Pool2d",
    "Slot",
    "align",
    "build",
    "check_params",
    "hidden_layers",
    "init_net",
    "layer_statistics",
    "lenet5_classic",
    "lenet5_seed",
    "match_units",
    "mlp",
    "permute",
    "unit_groups",
    "preset",
    "random_permutation",
    "sign_symmetric",
    "resolve_spec",
    "small_cnn",
    "spec_of",
    "state_for",
]
