"""GraphSpec: shapes inferred and checked when made, presets at their published sizes, build, JSON, chains."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.strategies import random_graph_net as random_net
from tests.strategies import random_graphs
from weightspace.errors import SpecError
from weightspace.nets import GRAPH_PRESETS, Net, lenet5_seed, resnet, small_cnn, wrn
from weightspace.nets.graph import GraphSpec, build_graph, chain_names


@pytest.mark.parametrize("name", sorted(GRAPH_PRESETS))
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_every_preset_builds_with_the_tensors_its_spec_names(name, shape):
    spec = GRAPH_PRESETS[name](input_shape=shape, **({"patch": 4} if name == "vit-tiny" and shape[1] == 32 else {}))
    module = build_graph(spec)
    assert module(torch.rand(2, *shape)).shape == (2, 10) and spec.output_shape == (10,)
    state = {k: tuple(v.shape) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert state == spec.state_shapes()
    assert spec.num_params() == sum(p.numel() for p in module.parameters())
    assert GraphSpec.from_json(spec.to_json()) == spec


def test_residual_presets_have_their_papers_sizes():
    # He et al. 2016, Table 6: ResNet-20 0.27 M; Ha et al. 2017, Table 2: WRN-40-2 2.236 M
    assert resnet(20, (3, 32, 32)).num_params() == pytest.approx(0.27e6, rel=0.01)
    assert wrn(40, 2, (3, 32, 32)).num_params() == pytest.approx(2.236e6, rel=0.01)


def graph(*nodes, shape=(4,)) -> dict:
    return {"input_shape": list(shape), "nodes": [{"name": n, "op": op, "inputs": i} for n, op, i in nodes]}


LIN = {"kind": "linear", "out_features": 3}
BAD = {
    "out of order": (graph(("a", LIN, ["b"]), ("b", LIN, ["input"])), "node 'a': its input 'b' comes later"),
    "cycle": (graph(("a", LIN, ["a"])), "node 'a': its input 'a' comes later"),
    "dangling": (graph(("a", LIN, ["ghost"])), "node 'a': its input 'ghost' is no node"),
    "unequal add": (graph(("a", LIN, ["input"]), ("s", {"kind": "add"}, ["a", "input"])), "node 's' \\(add\\)"),
    "two names": (graph(("a", LIN, ["input"]), ("a", LIN, ["a"])), "node 'a': the name is used twice"),
    "unknown op": (graph(("a", {"kind": "warp"}, ["input"])), "does not match any of the expected tags"),
    "bad name": (graph(("a.b", LIN, ["input"])), "String should match pattern"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_broken_graph_is_one_error_naming_the_node(case):
    data, message = BAD[case]
    with pytest.raises(ValidationError, match=message) as err:
        GraphSpec.model_validate(data)
    assert len(err.value.errors()) == 1


def test_graphs_are_bounded_when_parsed():
    nodes = [("input_0" if i == 0 else f"n{i}", {"kind": "identity"}, ["input" if i == 0 else f"n{i - 1}"])
             for i in range(1001)]  # fmt: skip
    nodes[1] = ("n1", {"kind": "identity"}, ["input_0"])
    with pytest.raises(ValidationError, match="at most 1000 items"):
        GraphSpec.model_validate(graph(*nodes))


@pytest.mark.parametrize("chain", [lenet5_seed(), small_cnn((1, 8, 8), padding=1, classes=3)])
def test_a_chain_as_a_graph_computes_the_same_function(chain):
    net = Net.init(chain, 0)
    spec = GraphSpec.from_chain(chain)
    module = build_graph(spec).eval()
    names = chain_names(chain)
    module.load_state_dict({names[k]: v for k, v in net.params.items()})
    x = torch.rand(3, *chain.input_shape)
    assert torch.allclose(module(x), net(x), atol=1e-6)
    assert spec.num_params() == chain.num_params()


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        return torch.relu(x + self.c2(torch.relu(self.c1(x))))


class Res(torch.nn.Module):
    """A two-block residual CNN written as an ordinary module: functional relu, `x + y`, an adaptive pool."""

    def __init__(self):
        super().__init__()
        self.stem, self.b, self.b2 = torch.nn.Conv2d(1, 8, 3, padding=1), Block(), Block()
        self.pool, self.fc = torch.nn.AdaptiveAvgPool2d(1), torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.b(torch.nn.functional.relu(self.stem(x)))
        return self.fc(torch.flatten(self.pool(torch.cat([x, self.b2(x)], dim=1)), 1))


def traced_gap(module, shape) -> tuple[GraphSpec, float]:
    from weightspace.nets import graph_of

    module.eval()
    spec, params = graph_of(module, shape)
    rebuilt = build_graph(spec).eval()
    result = rebuilt.load_state_dict(params, strict=False)
    assert not result.unexpected_keys and all(k.endswith("num_batches_tracked") for k in result.missing_keys)
    x = torch.rand(3, *shape)
    with torch.no_grad():
        return spec, (rebuilt(x) - module(x)).abs().max().item()


def test_an_ordinary_residual_module_traces_to_a_graph_of_the_same_function():
    spec, gap = traced_gap(Res(), (1, 28, 28))
    assert gap < 1e-6
    kinds = {n.op.kind for n in spec.nodes}
    assert {"add", "concat", "global_pool", "conv2d", "activation"} <= kinds and "flatten" not in kinds


@pytest.mark.parametrize("name", sorted(GRAPH_PRESETS))
def test_every_preset_round_trips_through_its_module(name):
    spec = GRAPH_PRESETS[name]()
    module = build_graph(spec)
    for p in module.parameters():  # weights off their init, so nothing is trivially equal
        p.data.normal_(0, 0.1)
    traced, gap = traced_gap(module, spec.input_shape)
    assert gap < 1e-6 and traced.state_shapes() == spec.state_shapes()


def test_the_first_node_that_cannot_be_read_is_named():
    from weightspace.errors import SpecError
    from weightspace.nets import graph_of

    class Doubles(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(x) * 2

    with pytest.raises(SpecError, match=r"node mul \(call_function mul\)"):
        graph_of(Doubles(), (4,))


@settings(max_examples=40, deadline=None)
@given(random_graphs())
def test_random_graphs_round_trip_through_their_module(spec):
    _, gap = traced_gap(build_graph(spec), spec.input_shape)
    assert gap < 1e-6


def permutation_gap(spec: GraphSpec, seed: int = 0) -> tuple[float, int]:
    from weightspace.nets import permute, random_permutation

    net = random_net(spec, seed)
    perms = random_permutation(spec, torch.Generator().manual_seed(seed))
    moved = permute(net, perms)
    x = torch.rand(4, *spec.input_shape, generator=torch.Generator().manual_seed(seed + 1))
    orders = [o for p in perms.values() for o in (p if isinstance(p, tuple) else (p,))]  # attention: (q/k, v)
    changed = sum(int((o != torch.arange(len(o))).any()) for o in orders)
    return (net(x) - moved(x)).abs().max().item(), changed


@pytest.mark.parametrize("name", ["resnet", "wrn", "inception-small", "vit-tiny"])
def test_a_random_permutation_of_a_graph_leaves_its_function_unchanged(name):
    gap, moved = permutation_gap(GRAPH_PRESETS[name]())
    assert gap < 1e-5 and moved >= 3  # some groups really moved


def test_a_residual_stream_shares_one_permutation():
    from weightspace.nets import unit_groups

    spec = resnet(8)
    axes, groups, makes = unit_groups(spec)
    # the stem, the first stage's second convs and its sum are one stream; a new stage with a 1x1 skip starts another
    assert groups.find(makes["stem_conv"]) == groups.find(makes["s0b0_b_conv"])
    assert groups.find(makes["s1b0_skip_conv"]) == groups.find(makes["s1b0_b_conv"])
    assert groups.find(makes["s1b0_b_conv"]) != groups.find(makes["stem_conv"])
    assert groups.find(makes["s0b0_a_conv"]) != groups.find(makes["stem_conv"])  # inside a block: its own units


@settings(max_examples=60, deadline=None)
@given(random_graphs(), st.integers(0, 1000))
def test_random_permutations_of_random_graphs_leave_the_function_unchanged(spec, seed):
    assert permutation_gap(spec, seed)[0] < 1e-5


@pytest.mark.parametrize("name", ["resnet", "inception-small", "wrn"])
def test_weight_matching_undoes_a_random_permutation_of_a_graph(name):
    from weightspace.nets import align, permute, random_permutation

    net = random_net(GRAPH_PRESETS[name]())
    shuffled = permute(net, random_permutation(net.spec, torch.Generator().manual_seed(7)))
    assert max((shuffled.params[k] - net.params[k]).abs().max().item() for k in net.params) > 0.1
    aligned = align(shuffled, net)
    assert max((aligned.params[k] - net.params[k]).abs().max().item() for k in net.params) < 1e-6


def test_a_concat_of_tokens_and_a_map_is_refused():
    patches = ("t", {"kind": "patchify", "patch": 2, "dim": 4}, ["input"])  # [4 tokens, 4]
    data = graph(patches, ("c", {"kind": "concat"}, ["t", "input"]), shape=(4, 4, 4))
    with pytest.raises(ValidationError, match="node 'c' \\(concat\\).*one rank"):
        GraphSpec.model_validate(data)


def test_a_flatten_module_that_folds_the_batch_is_refused():
    from weightspace.errors import SpecError
    from weightspace.nets import graph_of

    module = torch.nn.Sequential(torch.nn.Flatten(2), torch.nn.Linear(16, 2))  # [B, C, H*W]: not a flatten we read
    with pytest.raises(SpecError, match="flatten must start at dim 1"):
        graph_of(module, (2, 4, 4))


# -- attention as users write it ----------------------------------------------------------------------------------
class SplitHeads(torch.nn.Module):
    """q, k and v projections, heads split by view/transpose, F.scaled_dot_product_attention, an output
    projection: the common hand-written form (timm, nanoGPT without the causal mask)."""

    def __init__(self, d=16, heads=4, fused=False, causal=False, layout="heads-first"):
        super().__init__()
        self.heads, self.fused, self.causal, self.layout = heads, fused, causal, layout
        if fused:
            self.qkv = torch.nn.Linear(d, 3 * d)
        else:
            self.q, self.k, self.v = (torch.nn.Linear(d, d) for _ in range(3))
        self.proj = torch.nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        if self.fused:
            qkv = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        elif self.layout == "heads-first":
            q, k, v = (f(x).view(b, t, self.heads, d // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        else:  # features split head-minor: not the layout the graph's attention uses
            q, k, v = (
                f(x).view(b, t, d // self.heads, self.heads).permute(0, 3, 1, 2) for f in (self.q, self.k, self.v)
            )
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class TinyViT(torch.nn.Module):
    def __init__(self, attention):
        super().__init__()
        self.embed = torch.nn.Linear(12, 16)
        self.norm = torch.nn.LayerNorm(16)
        self.attn = attention
        self.head = torch.nn.Linear(16, 3)

    def forward(self, x):  # x: [B, 5 tokens, 12]
        h = self.embed(x)
        n = self.norm(h)
        if isinstance(self.attn, torch.nn.MultiheadAttention):  # torch's module, called as self-attention
            h = h + self.attn(n, n, n, need_weights=False)[0]
        else:
            h = h + self.attn(n)
        return self.head(h.mean(1))


@pytest.mark.parametrize("form", ["separate", "fused", "multihead"])
def test_attention_written_by_hand_or_as_torch_module_traces_to_the_same_function(form):
    from weightspace.nets import spec_of

    if form == "multihead":
        module = TinyViT(torch.nn.MultiheadAttention(16, 4, batch_first=True))
    else:
        module = TinyViT(SplitHeads(fused=form == "fused"))
    for param in module.parameters():
        param.data.normal_(0, 0.3)
    spec, gap = traced_gap(module, (5, 12))
    assert gap < 1e-6
    assert [n.op for n in spec.nodes if n.op.kind == "attention"][0].heads == 4
    assert isinstance(spec_of(module, (5, 12)), GraphSpec)
    net = Net.from_module(None, module, input_shape=(5, 12))
    x = torch.rand(3, 5, 12)
    assert (net(x) - module.eval()(x)).abs().max() < 1e-6


def test_attention_that_is_not_plain_self_attention_is_refused_in_one_line():
    from weightspace.errors import SpecError
    from weightspace.nets import graph_of

    with pytest.raises(SpecError, match="scaled_dot_product_attention.*no mask, causal flag"):
        graph_of(TinyViT(SplitHeads(causal=True)), (5, 12))
    with pytest.raises(SpecError, match="computes something else"):  # heads laid out another way: caught by value
        graph_of(TinyViT(SplitHeads(layout="heads-last")), (5, 12))


def test_a_foreign_module_fills_a_graph_spec_with_other_node_names_in_its_traced_order():
    from weightspace.nets import spec_of

    module = Res().eval()
    traced = spec_of(module, (1, 28, 28))
    rename = {n.name: f"n{i}" for i, n in enumerate(traced.nodes)} | {"input": "input"}
    renamed = GraphSpec(input_shape=traced.input_shape, nodes=[
        n.model_copy(update={"name": rename[n.name], "inputs": [rename[i] for i in n.inputs]}) for n in traced.nodes
    ])  # fmt: skip
    net = Net.from_module(renamed, module)
    x = torch.rand(2, 1, 28, 28)
    assert set(net.params) == set(renamed.state_shapes()) and (net(x) - module(x)).abs().max() < 1e-6


def test_the_chain_only_symmetry_helper_refuses_a_graph_in_one_line():
    from weightspace.errors import SpecError
    from weightspace.nets import hidden_layers

    with pytest.raises(SpecError, match="hidden_layers: only chains of layers are read, and the graph 'resnet8'"):
        hidden_layers(resnet(8))


# -- token embeddings --------------------------------------------------------------------------------------------------
def test_a_text_transformer_round_trips_and_keeps_its_function_under_permutation():
    from tests.strategies import text_transformer
    from weightspace.nets import align, permute, random_permutation, spec_of

    spec = text_transformer()
    assert spec.shapes()["emb"] == (6, 8) and spec.state_shapes()["emb.weight"] == (50, 8)
    net = random_net(spec, 0)
    ids = torch.randint(0, 50, (4, 6), generator=torch.Generator().manual_seed(0))
    traced = Net.from_module(None, net.as_module(), input_shape=(6,))  # module -> spec -> build: the same function
    assert [n.op for n in traced.spec.nodes] == [n.op for n in spec.nodes] and spec_of(traced.as_module(), (6,))
    assert (traced(ids) - net(ids)).abs().max() < 1e-6
    moved = permute(net, random_permutation(spec, torch.Generator().manual_seed(2)))
    assert (moved.params["emb.weight"] - net.params["emb.weight"]).abs().max() > 0.1  # its columns moved
    assert (net(ids) - moved(ids)).abs().max() < 1e-5
    aligned = align(moved, net)  # the residual stream is matched through the table (heads keep their order)
    for k in ("emb.weight", "pos.embedding", "fc2.bias", "head.weight"):
        assert (aligned.params[k] - net.params[k]).abs().max() < 1e-6, k


def test_a_users_text_module_with_nn_embedding_is_traced():
    class Tagger(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(30, 8)
            self.attn = torch.nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = torch.nn.Linear(8, 4)

        def forward(self, ids):
            x = self.emb(ids)
            x = x + self.attn(x, x, x)[0]
            return self.head(torch.relu(x).mean(1))

    from weightspace.nets import Net

    torch.manual_seed(0)
    module = Tagger().eval()
    net = Net.from_module(None, module, input_shape=(5,))
    assert [n.op.kind for n in net.spec.nodes][:2] == ["embedding", "attention"]
    ids = torch.randint(0, 30, (3, 5))
    with torch.no_grad():
        assert (net(ids) - module(ids)).abs().max() < 1e-5


def test_a_sentence_embedding_scaled_to_unit_length_traces_and_keeps_its_function_under_permutation():
    from weightspace.nets import permute, random_permutation, spec_of

    class Embedder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.fc, self.out = torch.nn.Embedding(30, 8), torch.nn.Linear(8, 16), torch.nn.Linear(16, 4)

        def forward(self, ids):
            return F.normalize(self.out(torch.relu(self.fc(self.emb(ids)))).mean(1), dim=-1)

    torch.manual_seed(0)
    module = Embedder().eval()
    net = Net.from_module(None, module, input_shape=(5,))
    assert net.spec.nodes[-1].op.kind == "normalize"
    ids = torch.randint(0, 30, (3, 5), generator=torch.Generator().manual_seed(0))
    assert (net(ids) - module(ids)).abs().max() < 1e-6 and torch.allclose(net(ids).norm(dim=-1), torch.ones(3))
    moved = permute(net, random_permutation(net.spec, torch.Generator().manual_seed(1)))
    assert (moved.params["fc.weight"] - net.params["fc.weight"]).abs().max() > 0.1
    assert (moved(ids) - net(ids)).abs().max() < 1e-6

    class Wrong(Embedder):
        def forward(self, ids):
            return F.normalize(self.out(self.fc(self.emb(ids))).mean(1), dim=0)

    with pytest.raises(SpecError, match="only F.normalize"):
        spec_of(Wrong(), (5,))
