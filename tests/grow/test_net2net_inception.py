"""The Net2Net recipe on Inception: students grown from a narrow `inception-small` compute the teacher's function,
the wider one is the standard network, random pad keeps the teacher's weights where they fit, and seeds aggregate."""

from __future__ import annotations

import torch

from tests.strategies import random_graph_net
from weightspace.nets import inception_small
from weightspace.recipes.net2net import Net2NetConfig, _grown, graph_random_pad, results_table, run


def test_grown_inception_students_compute_the_teachers_function():
    config = Net2NetConfig(teacher="inception-small")
    teacher = random_graph_net(inception_small((1, 12, 12), width=config.narrow), 0)
    x = torch.rand(4, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    students = _grown(config, teacher)
    assert students["wider"].spec.state_shapes() == inception_small((1, 12, 12)).state_shapes()
    assert [n.name for n in students["deeper"].spec.nodes if n.name.endswith("_deep_sum")] == [
        "inc0_3x3_relu_deep_sum", "inc1_3x3_relu_deep_sum"]  # fmt: skip
    for student in students.values():
        assert (student(x) - teacher(x)).abs().max() < 1e-5


def test_random_pad_keeps_the_teachers_units_and_draws_the_rest():
    teacher = random_graph_net(inception_small((1, 12, 12), width=0.5), 0)
    student = _grown(Net2NetConfig(teacher="inception-small", narrow=0.5), teacher)["wider"]
    pad = graph_random_pad(teacher, student, seed=3)
    t, p = teacher.params, pad.params
    assert torch.equal(p["stem_conv.weight"][: t["stem_conv.weight"].shape[0]], t["stem_conv.weight"])
    # the head reads the second block's concat: each branch's old channels lead that branch's stretch
    branches = [student.spec.shapes()[f"inc1_{b}_relu"][0] for b in ("1x1", "3x3", "5x5", "poolproj")]
    old = [teacher.spec.shapes()[f"inc1_{b}_relu"][0] for b in ("1x1", "3x3", "5x5", "poolproj")]
    starts = [sum(branches[:i]) for i in range(4)]
    cols = torch.cat([torch.arange(s, s + n) for s, n in zip(starts, old)])
    assert torch.equal(p["head.weight"][:, cols], t["head.weight"])
    assert not torch.equal(p["head.weight"], student.params["head.weight"])  # the new columns are fresh
    x = torch.rand(4, 1, 12, 12)
    assert (pad(x) - teacher(x)).abs().max() > 1e-3  # not the teacher's function


def test_the_inception_experiment_aggregates_its_seeds(tmp_path):
    config = Net2NetConfig(dataset="digits", teacher="inception-small", train_size=96, teacher_epochs=1,
                           student_epochs=1, seeds=2, noise=0.05)  # fmt: skip
    results = run(config, tmp_path, log=lambda _: None)
    runs = results["growths"]["wider"]["runs"]
    assert set(runs) == {"Net2Net", "random init", "random pad"} and len(results["per_seed"]) == 2
    first, second = (r["growths"]["wider"]["runs"]["Net2Net"]["accuracy"] for r in results["per_seed"])
    assert runs["Net2Net"]["accuracy"] == [(a + b) / 2 for a, b in zip(first, second)]
    assert "±" in results_table(results) and (tmp_path / "net2net.png").stat().st_size > 1000
