"""``ragtune estimate``: GPU sizing, hours and cost of a fine-tune, per provider."""

from __future__ import annotations

from pathlib import Path

import typer

from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load


@app.command()
def estimate(
    model_size: str = typer.Option(
        ..., "--model-size", help="e.g. 7B, 13B, 70B, 350M."
    ),
    examples: int = typer.Option(..., "--examples", min=1, help="Training examples."),
    method: str = typer.Option("qlora", help="full, lora or qlora."),
    epochs: float = typer.Option(1.0, min=0.01),
    seq_len: int = typer.Option(1024, "--seq-len", min=8),
    batch_size: int = typer.Option(4, "--batch-size", min=1),
    gpu: str | None = typer.Option(
        None, help="Restrict to one GPU type, e.g. A100-80GB."
    ),
    check: bool = typer.Option(
        False, help="Also compare with the framework's figures."
    ),
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Memory from first principles, the GPUs that fit, hours and cost per provider."""
    from ragtune.tasks.estimate import check_framework
    from ragtune.tasks.estimate import estimate as run_estimate

    cfg = load(params).estimate
    result = run_estimate(
        model_size,
        method,
        examples,
        epochs,
        seq_len,
        batch_size=batch_size,
        gpu=gpu,
        cfg=cfg,
    )
    checks = check_framework(cfg) if check else []
    if as_json:
        payload = result.to_dict()
        if check:
            payload["framework_checks"] = [c.to_dict() for c in checks]
        emit_json(payload)
        return
    console.print(result.to_markdown())
    for c in checks:
        mark = "[green]ok[/]" if c.ok else "[red]off[/]"
        console.print(
            f"{mark} {c.figure}: framework {c.framework}, ragtune {c.estimate}"
        )
