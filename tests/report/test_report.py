"""The report page: its summaries checked against the zoo table and tensors, and the page itself opened in a real
browser (headless Chromium through Playwright) with no console error and no request leaving the file."""

import os
import re
import shutil
from pathlib import Path

import pytest
import torch

from weightspace.cli import main
from weightspace.nets import NetBatch, mlp
from weightspace.report import write_report
from weightspace.report.html import SECTIONS, render
from weightspace.report.summary import curves, distributions, extremes, metric_summary, weight_statistics, zoo_summary
from weightspace.zoo import Zoo, generate, write_zoo


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """9 small-CNN detectors with two checkpoints, their classify results beside them."""
    from tests.conftest import make_tiny_config

    root = generate(make_tiny_config(), tmp_path_factory.mktemp("r") / "zoo").root
    with pytest.raises(SystemExit):
        main(["zoo", "classify", str(root)])
    return Zoo.open(root)


def test_metric_summary_matches_the_table(zoo):
    summary = metric_summary(zoo.table)
    last = zoo.table[zoo.table["epoch"] == 2]
    for row in summary["rows"]:
        group = last[last["task"] == row["task"]]
        assert row["networks"] == len(group) == 3
        assert row["test_auc"]["mean"] == pytest.approx(group["test_auc"].mean())
        assert row["test_accuracy"]["max"] == pytest.approx(group["test_accuracy"].max())


def test_distributions_and_curves_count_every_network(zoo):
    for d in distributions(zoo.table).values():
        assert sum(sum(c) for c in d["counts"].values()) == 9 and len(d["edges"]) == 31
    c = curves(zoo.table)
    assert c["test_auc"]["0"]["epoch"] == [1, 2]
    ones = zoo.table[(zoo.table["task"] == "0") & (zoo.table["epoch"] == 1)]
    assert c["test_auc"]["0"]["mean"][0] == pytest.approx(ones["test_auc"].mean())


def test_weight_statistics_match_the_tensors(zoo):
    stats = weight_statistics(zoo)
    final = zoo.filter(epoch=2)
    stacked = final.batch().params
    layer = next(x for x in stats["layers"] if x["name"] == "0.weight")
    norms = stacked["0.weight"].reshape(9, -1).norm(dim=1).numpy()
    tasks = final.table["task"].to_numpy()
    assert layer["tasks"]["1"]["norm_mean"] == pytest.approx(norms[tasks == "1"].mean(), rel=1e-5)
    assert sum(layer["tasks"]["1"]["histogram"]) == 3 * stacked["0.weight"][0].numel()


def test_extremes_rank_by_the_main_metric(zoo):
    e = extremes(zoo.table)
    final = zoo.table[zoo.table["epoch"] == 2]
    assert e["metric"] == "test_auc" and e["best"][0]["test_auc"] == pytest.approx(final["test_auc"].max())
    assert e["worst"][0]["test_auc"] == pytest.approx(final["test_auc"].min())


def imported(root: Path, rows: list[dict]) -> Zoo:
    spec = mlp(3, [4], 2, activation="relu")
    stacked = {k: torch.randn(len(rows), *s) for k, s in spec.state_shapes().items()}
    return write_zoo(root, "imported", NetBatch(spec, stacked), rows, source={"format": "test", "folder": "nowhere"})


@pytest.mark.parametrize(
    "rows", [[{"file": "a.h5"}, {"file": "b.h5"}], [{"model_id": 0, "task": "cat", "test_accuracy": 0.5}]],
    ids=["no metrics", "one network"],
)  # fmt: skip
def test_pages_of_odd_zoos_render(tmp_path, rows):
    zoo = imported(tmp_path / "z", rows)
    page = render(zoo_summary(zoo))
    assert all(f'id="{anchor}"' in page for anchor, _ in SECTIONS) and not OUTSIDE.search(page)


OUTSIDE = re.compile(r"""(src|href)=["']?(https?:|//)|url\((https?:|//)|@import""")  # anything fetched from outside


def chromium() -> str:
    """Chromium's executable for Playwright; the test is skipped without one, except in CI, where it fails."""
    try:
        import playwright  # noqa: F401

        executable = shutil.which("chromium") or shutil.which("chromium-browser")
    except ImportError:
        executable = None
    if executable is None:
        message = "needs Playwright and Chromium: pip install playwright; sudo apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run this test)")
        pytest.skip(message)
    return executable


def test_the_page_opens_in_a_browser_with_every_section_and_no_request_out(zoo, tmp_path):
    executable = chromium()
    from playwright.sync_api import sync_playwright

    path = write_report(zoo.root, tmp_path / "report.html")
    assert path.stat().st_size < 3e6
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.resolve().as_uri())
        headings = page.locator("h2").all_inner_texts()
        images = page.locator("figure img")
        sizes = [images.nth(i).evaluate("img => img.naturalWidth") for i in range(images.count())]
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert headings == [title for _, title in SECTIONS]
    assert len(sizes) == 5 and all(w > 100 for w in sizes)  # architecture, metrics, curves, weights, confusion
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    print(f"screenshot: {tmp_path / 'report.png'}")


RESULTS = Path(__file__).parent.parent.parent / "benchmarks" / "results"


def test_pages_for_the_other_commands_outputs(tmp_path):
    shutil.copytree(RESULTS / "swat", tmp_path / "swat")
    (tmp_path / "n2n").mkdir()
    shutil.copy(RESULTS / "net2net_fashion.json", tmp_path / "n2n" / "results.json")
    shutil.copy(RESULTS / "hyper_generator_digits_lenet5.json", tmp_path / "generator.json")
    for path, expected in [(tmp_path / "swat", "darts-admm-x4"), (tmp_path / "n2n", "wider student"),
                           (tmp_path / "generator", "zoo members (held out)")]:  # fmt: skip
        with pytest.raises(SystemExit) as exit_:
            main(["report", str(path)])
        assert exit_.value.code == 0
        written = path / "report.html" if path.is_dir() else path.with_suffix(".report.html")
        page = written.read_text()
        assert expected in page and "<table>" in page and not OUTSIDE.search(page)
    assert 'src="data:image/png;base64,' in (tmp_path / "n2n" / "report.html").read_text()


def test_a_zoo_with_an_encoder_and_embeddings_shows_them(tmp_path):
    from weightspace.encode import EncoderConfig, FitConfig
    from weightspace.recipes.encoder import EncoderTrainingConfig, embed_zoo, run
    from weightspace.zoo import make_sine_inr_zoo

    zoo = make_sine_inr_zoo(tmp_path / "inr", networks=30, steps=20)
    config = EncoderTrainingConfig(
        zoo=zoo.root, encoder=EncoderConfig(kind="statnn", target="frequency"), fit=FitConfig(epochs=2)
    )
    report = run(config, zoo.root / "encoders" / "statnn-frequency")
    from weightspace.encode import Predictor

    embed_zoo(Predictor.load(report["model"]), zoo, "statnn-frequency")
    summary = zoo_summary(Zoo.open(zoo.root))
    assert [e["name"] for e in summary["beside"]["encoders"]] == ["statnn-frequency"]
    assert len(summary["beside"]["embeddings"][0]["xy"]) == 30
    page = render(summary)
    assert "predicted vs true" in page and "embedding map" in page


def test_the_page_of_a_mixed_zoo_draws_each_architecture(tmp_path):
    from weightspace.zoo import zoo_preset

    config = zoo_preset("digits-mixed", per_task=6, shard_size=2, training={"epochs": 1, "batch_size": 128},
                        checkpoints=[1])  # fmt: skip
    generate(config, tmp_path / "z")
    page = write_report(tmp_path / "z").read_text()
    drawings = re.findall(r'<img alt="the architecture, input on the left" src="data:image/png;base64,', page)
    assert len(drawings) == 3  # resnet, vit-tiny, small-cnn
    assert "<th>node</th><th>op</th><th>inputs</th>" in page and "s0b0_sum" in page  # the graphs' node tables
    assert "<th>#</th><th>layer</th>" in page  # and the chain's layer table


def test_architecture_drawings_show_branches_side_by_side():
    from weightspace.nets import inception_small, small_cnn
    from weightspace.report import architecture_figure

    fig = architecture_figure(inception_small())
    ys = {round(y, 2) for c in fig.axes[0].collections for _, y in c.get_offsets()}
    assert len(ys) >= 4  # the four branches of a block at four heights
    chain = architecture_figure(small_cnn())
    assert {round(y, 2) for c in chain.axes[0].collections for _, y in c.get_offsets()} == {0.0}  # one line
