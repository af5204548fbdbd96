"""Progress when stdout is not a terminal: plain status lines with counts, rate and ETA; concise reprs."""

import io

from rich.console import Console

from weightspace.nets import Net, lenet5_seed
from weightspace.progress import StatusLines, progress_bar


def test_status_lines_off_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    bar = progress_bar(console, "networks", every=0.0)
    assert isinstance(bar, StatusLines)
    with bar as progress:
        task = progress.add_task("digits", total=10, completed=4)
        progress.advance(task, 3)
        progress.update(task, advance=3, description="digits (fast)")
    lines = out.getvalue().splitlines()
    assert lines[0] == "digits: resuming, 4 already done"
    assert lines[1].startswith("digits: 7/10 networks,") and "/s, ETA" in lines[1]
    assert lines[-1].startswith("digits (fast): 10/10 networks") and "ETA" not in lines[-1]


def test_a_terminal_gets_a_rich_bar():
    console = Console(file=io.StringIO(), force_terminal=True)
    assert not isinstance(progress_bar(console), StatusLines)


def test_a_net_prints_in_one_line():
    text = repr(Net.init(lenet5_seed(), 0, task="tench"))
    assert text == "Net('lenet5-seed', 91,481 parameters, meta: seed=0, task='tench')"
