"""Progress of long steps as the CLI shows it: live bars on a terminal, plain
lines elsewhere (a CI log or a pipe), from the same reports."""

from __future__ import annotations

import io
import logging

from rich.console import Console

from ragtune import progress
from ragtune.cli.progress_view import progress_bars


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=120), out


def test_off_a_terminal_each_step_prints_lines_at_every_tenth() -> None:
    console, out = _console(terminal=False)
    with progress_bars("evaluate: answering", console=console):
        with progress.step("eval: base+rag", 20) as bar:
            for _ in range(20):
                bar.advance()
        with progress.step("training qlora-x", 0) as bar:
            bar.update(1, 4, "loss 2.1000, 90 tok/s")
            bar.update(4, 4, "loss 0.3000, 91 tok/s")
    lines = out.getvalue().splitlines()
    assert lines[0] == "evaluate: answering"
    answered = [line for line in lines if line.startswith("eval: base+rag: ")]
    # started, ten tenths, done
    assert answered[0] == "eval: base+rag: started"
    assert [x.split(",")[0] for x in answered[1:-1]] == [
        f"eval: base+rag: {n}/20" for n in range(2, 21, 2)
    ]
    assert answered[-1].startswith("eval: base+rag: done in ")
    trained = [line for line in lines if line.startswith("training qlora-x: ")]
    assert "1/4, loss 2.1000, 90 tok/s" in trained[1]
    assert "4/4, loss 0.3000, 91 tok/s" in trained[2]


def test_on_a_terminal_the_steps_are_bars_with_their_notes() -> None:
    console, out = _console(terminal=True)
    with progress_bars("retrain", console=console):
        with progress.step("training qlora-x", 0) as bar:
            bar.update(3, 12, "loss 0.4104, 65 tok/s")
    text = out.getvalue()
    assert "training qlora-x" in text and "3/12" in text and "65 tok/s" in text


def test_without_a_view_progress_goes_to_the_log_every_tenth(caplog) -> None:  # noqa: ANN001
    with caplog.at_level(logging.INFO, logger="ragtune.progress"):
        with progress.step("slice", 5) as bar:
            for _ in range(5):
                bar.advance()
    assert [r.getMessage() for r in caplog.records] == [
        f"slice: {n}/5" for n in range(1, 6)
    ]
