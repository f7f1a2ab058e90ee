"""``ragtune retrain``: the retrain flow with its gates, on a chosen GPU backend.

While the job trains, a progress bar on stderr shows steps, loss, tokens/s and
the ETA (stdout keeps ``--json``'s one object). SIGTERM or Ctrl-C cancels the
training job and exits with 128 + the signal number.
"""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from ragtune.cli.app import (
    JSON_OPTION,
    PARAMS_OPTION,
    app,
    console,
    emit_json,
    err_console,
    load,
)
from ragtune.interrupt import sigterm_raises


@app.command()
def retrain(
    backend: str | None = typer.Option(
        None, "--backend", help="local, prefect, modal or runpod (default: params)."
    ),
    reason: str = typer.Option("manual", help="Why: recorded in the audit log."),
    force: bool = typer.Option(False, "--force", help="Ignore the cooldown."),
    gap: str | None = typer.Option(
        None,
        "--gap",
        help="Train for one knowledge gap: its SFT records, judged on its slice "
        "and metric, registered as its candidate.",
    ),
    gaps_file: Path | None = typer.Option(
        None, "--gaps", help="GAPS.yaml holding --gap (default: retrain.gaps_file)."
    ),
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Build the SFT set, run its gates, check the cost cap, train a candidate."""
    from ragtune.app.backends import BACKENDS
    from ragtune.flows.retrain import retrain as retrain_flow

    if backend is not None and backend not in BACKENDS:
        known = ", ".join(BACKENDS)
        raise typer.BadParameter(f"unknown backend {backend!r}; use one of {known}")
    from ragtune.cli.progress_view import progress_bars
    from ragtune.flows._train_watch import STOPS, signal_name
    from ragtune.flows.promotion import PromotionRejected

    if gaps_file is not None and gap is None:
        raise typer.BadParameter("--gaps needs --gap NAME")
    from ragtune.app.retrain import check_retrain_request
    from ragtune.flows._wiring import prefect_secret

    # bad params, a missing key, an unknown gap: exit 2 before Prefect starts
    check_retrain_request(
        load(params), backend, gap, gaps_file, secret_resolver=prefect_secret
    )
    try:
        with (
            sigterm_raises(),
            progress_bars(f"retrain{' --gap ' + gap if gap else ''}"),
        ):
            summary = retrain_flow(
                params_path=str(params) if params else None,
                backend=backend,
                reason=reason,
                force=force,
                gap_name=gap,
                gaps_file=str(gaps_file) if gaps_file else None,
            )
    except STOPS as exc:
        name = signal_name(exc)
        err_console.print(
            f"[bold red]retrain stopped by {name}:[/] any training job was "
            "cancelled; no candidate was promoted",
            highlight=False,
        )
        raise typer.Exit(128 + signal.Signals[name].value) from None
    except PromotionRejected as exc:  # print the gates, then exit 1
        outcome = {"status": "rejected", "reason": str(exc), **exc.summary}
        if as_json:
            emit_json({"promotion": outcome})
        else:
            _print_gates(outcome)
        raise
    if as_json:
        emit_json(summary)
        return
    if "promotion" in summary:
        _print_gates(summary["promotion"])
    state = "reused" if summary["reused"] else "trained"
    console.print(
        f"candidate {summary['run_name']} {state}: loss {summary['final_loss']:.4f} "
        f"after {summary['steps']} steps on data {summary['dataset_hash'][:16]}\n"
        f"adapter: {summary['adapter_dir']}\ncard: {summary['card']}"
    )


def _print_gates(promotion: dict) -> None:
    """One line per gate comparison, then the verdict."""
    for scope, gate in (promotion.get("gates") or {}).items():
        for c in gate["comparisons"]:
            m, mark = c["measured"], "pass" if c["status"] == "pass" else "FAIL"
            console.print(
                f"{scope}: {c['name']}: {m['metric']} {m['diff']:+.4f} "
                f"(CI {m['ci_low']:+.4f}..{m['ci_high']:+.4f}, "
                f"margin {m['margin']:+.4f}) {mark}"
            )
        for r in gate["regressions"]:
            console.print(f"{scope}: regression: {r}")
    privacy = promotion.get("privacy")
    if privacy is not None:
        state = "pass" if privacy["passed"] else "FAIL"
        thin = privacy.get("insufficient_evidence") or []
        if privacy["passed"] and thin:
            state = f"insufficient evidence ({', '.join(thin)}): a person approves"
        console.print(f"privacy: {state} {'; '.join(privacy['failures'])}".rstrip())
    verdict = promotion.get("status", "?")
    why = promotion.get("reason") or promotion.get("approver") or ""
    console.print(f"promotion: {verdict} {why}".rstrip())
