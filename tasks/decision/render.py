"""The decision record as markdown, rendered from the record's own JSON data so
the two files can never say different things."""

from __future__ import annotations

from typing import Any


def render_markdown(record: dict[str, Any]) -> str:
    """The whole record: provenance, a summary table, then one section per gap."""
    index = record.get("index") or {}
    lines = [
        f"# Decision record {record['record_id']}",
        "",
        f"- created: {record['created_at']}",
        f"- gaps file: `{record['gaps_file']}` (sha256 `{record['gaps_sha256']}`)",
        f"- index: tag `{index.get('tag')}`, version {index.get('version')}, "
        f"data hash `{index.get('data_hash')}`",
        f"- eval set: {_eval_set(record.get('eval_set') or {})}",
        "",
        "| gap | type | outcome | rules fired |",
        "|---|---|---|---|",
    ]
    for d in record["decisions"]:
        outcome = d.get("outcome") or d["recommendation"]
        lines.append(
            f"| {d['gap']} | {d['gap_type']} | **{outcome}** | "
            f"{', '.join(d['fired'])} |"
        )
    for d in record["decisions"]:
        lines += ["", *_gap_section(d)]
    return "\n".join(lines) + "\n"


def _eval_set(info: dict[str, Any]) -> str:
    return f"{info.get('name')} / {info.get('split')} ({info.get('queries')} queries)"


def _gap_section(d: dict[str, Any]) -> list[str]:
    lines = [
        f"## {d['gap']}: {d.get('outcome') or d['recommendation']}",
        "",
        d["summary"],
        "",
        f"- type: {d['gap_type']} ({_type_why(d)})",
        f"- volatile: {'yes' if d['volatile'] else 'no'}",
    ]
    if d["missing_evidence"]:
        lines.append(f"- not measured: {', '.join(d['missing_evidence'])}")
    lines += ["", *_evidence(d["evidence"]), *answers_table(d["evidence"])]
    lines += ["", *_rules(d["rules"])]
    lines += ["", *_fine_tune(d.get("fine_tune_cost"))]
    if d["readiness"]:
        status = d.get("fine_tune_readiness", "not-needed")
        lines += ["", f"Dataset readiness for a fine-tune ({status}):", ""]
        lines += [f"- **{g['kind']}**: {g['detail']}" for g in d["readiness"]]
    if d["next_steps"]:
        lines += ["", "Next steps:", ""] + [f"- {s}" for s in d["next_steps"]]
    return lines


def answers_table(e: dict[str, Any]) -> list[str]:
    """The configured model's answers on the slice, closed book vs with retrieval,
    means with their intervals, and the paired gain; empty when not measured."""
    closed, rag = e.get("closed_book"), (e.get("best") or {}).get("answers")
    if not closed or not rag:
        return []
    model = rag.get("model") or "the configured model"
    lines = [
        "",
        f"Answers by {model} on {rag['n']} questions of the slice (measured):",
        "",
        "| configuration | token F1 | exact match | format | p95 latency |",
        "|---|---|---|---|---|",
    ]
    tuned = (e.get("fine_tuned") or {}).get("configurations") or []
    for fig in (closed, rag, *tuned):
        lines.append(
            f"| {fig['configuration']} | {_ci(fig, 'token_f1')} | "
            f"{_ci(fig, 'exact_match')} | {_ci(fig, 'format_compliance')} | "
            f"{_num(fig['latency_p95_ms'], ',.0f')} ms |"
        )
    gains = [
        ("Retrieval gain", e.get("differences")),
        ("Fine-tuned over base + RAG", (e.get("fine_tuned") or {}).get("gains")),
    ]
    for label, diffs in gains:
        for diff in diffs or []:
            verdict = "significant" if diff["significant"] else "not significant"
            lines.append(
                f"\n{label} on {diff['metric']}: {diff['gain']:+.3f} "
                f"[{diff['ci_low']:+.3f}, {diff['ci_high']:+.3f}] "
                f"({verdict}, n={diff['n']})"
            )
    return lines


def _ci(fig: dict[str, Any], metric: str) -> str:
    value, ci = fig.get(metric), (fig.get("ci") or {}).get(metric)
    if value is None:
        return "n/a"
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _type_why(d: dict[str, Any]) -> str:
    if d["type_source"] == "declared":
        return d["type_reason"]
    return f"{d['type_source']}: {d['type_reason']}"


def _num(value: Any, fmt: str = ".3f", prefix: str = "") -> str:
    return "n/a" if value is None else f"{prefix}{value:{fmt}}"


def _evidence(e: dict[str, Any]) -> list[str]:
    best = e.get("best") or {}
    alt = e["fine_tuned"]
    src = e.get("sources") or {}
    rows = [
        ("metric", f"{e['metric']} {_num(e['value'])} (target {e['target']:.3f})"),
        ("best setting", f"{best.get('label', 'n/a')} on {e['n_queries']} queries"),
        ("format compliance", _num(e["format_compliance"])),
        ("RAG cost / 1k queries", _num(e["rag_cost_per_1k_usd"], ",.4f", "$")),
        ("RAG cost / month", _num(e["rag_cost_per_month_usd"], ",.2f", "$")),
        ("latency p95 (ms)", _num(e["latency_p95_ms"], ",.0f")),
        ("fine-tuned cost / 1k", _num(alt["cost_per_1k_usd"], ",.4f", "$")),
        ("fine-tuned + RAG / 1k", _num(alt["cost_with_rag_per_1k_usd"], ",.4f", "$")),
    ]
    lines = ["| evidence | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    shown = {"declared": "declared, not measured"}
    sources = ", ".join(f"{k}: {shown.get(v, v)}" for k, v in sorted(src.items()))
    notes = "; ".join(e.get("notes") or [])
    lines += ["", f"Sources: {sources}." + (f" Notes: {notes}." if notes else "")]
    if e.get("tried"):
        lines += [
            "",
            "| setting | target metric | recall@k | context tokens | p95 ms |",
        ]
        lines.append("|---|---|---|---|---|")
        for s in e["tried"]:
            lines.append(
                f"| {s['label']} | {_num(s['metric'])} | "
                f"{s['retrieval']['recall_at_k']:.3f} | {s['context_tokens']:.0f} | "
                f"{s['retrieval_latency_p95_ms']:.1f} |"
            )
    return lines


def _rules(rules: list[dict[str, Any]]) -> list[str]:
    lines = ["| rule | fired | effect | measured | threshold | reason |"]
    lines.append("|---|---|---|---|---|---|")
    for r in rules:
        lines.append(
            f"| {r['rule']} | {'yes' if r['fired'] else 'no'} | {r['effect']} | "
            f"{_num(r['measured'], ',.3f')} | {_num(r['threshold'], ',.3f')} | "
            f"{r['reason'].replace('|', '/')} |"
        )
    return lines


def _fine_tune(cost: dict[str, Any] | None) -> list[str]:
    if not cost:
        return ["Fine-tune cost: not estimated."]
    first = cost.get("first_project_usd") or {}
    prep = cost.get("data_prep_usd") or {}
    return [
        f"Fine-tune path ({cost['model_size']} {cost['method']}, "
        f"{cost['examples_priced']:,} examples): {cost['gpu_count']} x {cost['gpu']} "
        f"on {cost['provider']}, {cost['hours']:.2f} h, compute "
        f"{_num(cost['compute_usd'], ',.2f', '$')}; data preparation "
        f"${prep.get('low', 0):,.0f}-{prep.get('high', 0):,.0f} "
        f"({cost.get('data_prep_basis')}); first project "
        f"${first.get('low', 0):,.0f}-{first.get('high', 0):,.0f} "
        f"(prices as of {cost.get('prices_as_of')})."
    ]
