"""Builds the BEIR-layout eval set and the freshness labels from the authored parts.

Sources (edited by hand): ``data/eval/parts/*.jsonl`` (one question per line with
``_id``, ``text``, ``answer``, ``doc_ids``, ``class`` and, for a question asked
as of a day, ``as_of``: its ``doc_ids`` are the versions in force that day and its
``not_doc_ids`` the other versions, judged not relevant then: grade 0) and
``data/eval/labels-*.csv``.
Outputs (committed, so a fresh clone needs no build step): ``queries.jsonl``,
``qrels/test.tsv``, ``corpus.jsonl`` (text as ragtune's loader extracts it) and
``freshness_labels.csv``. Deterministic: rerunning on unchanged sources rewrites
identical files. Usage: ``python data/tools/build_eval_set.py [DATA_DIR]``.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import load_knowledge_base


def _questions(parts: Path) -> list[dict]:
    rows = []
    for path in sorted(parts.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line]
    return sorted(rows, key=lambda r: r["_id"])


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build(data_dir: Path) -> dict[str, int]:
    eval_dir = data_dir / "eval"
    questions = _questions(eval_dir / "parts")
    queries = [
        {
            "_id": q["_id"],
            "text": q["text"],
            "metadata": {"answer": q["answer"], "class": q["class"]},
            **({"as_of": q["as_of"]} if q.get("as_of") else {}),
        }
        for q in questions
    ]
    _write_jsonl(eval_dir / "queries.jsonl", queries)
    (eval_dir / "qrels").mkdir(exist_ok=True)
    qrels = ["query-id\tcorpus-id\tscore"] + [
        f"{q['_id']}\t{doc}\t{grade}"
        for q in questions
        for grade, key in ((1, "doc_ids"), (0, "not_doc_ids"))
        for doc in q.get(key, [])
    ]
    (eval_dir / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    loaded = load_knowledge_base(data_dir / "kb", DataConfig())
    corpus = [
        {"_id": d.doc_id, "title": d.title, "text": d.text}
        for d in sorted(loaded.documents, key=lambda d: d.doc_id)
    ]
    _write_jsonl(eval_dir / "corpus.jsonl", corpus)
    labels: list[list[str]] = []
    for path in sorted(eval_dir.glob("labels-*.csv")):
        with path.open(newline="") as fh:
            labels += [[r["doc_id"], r["class"]] for r in csv.DictReader(fh)]
    with (eval_dir / "freshness_labels.csv").open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["doc_id", "class"])
        writer.writerows(sorted(labels))
    return {
        "queries": len(queries),
        "qrels": len(qrels) - 1,
        "corpus": len(corpus),
        "labels": len(labels),
        "rejected": len(loaded.rejected),
    }


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1]
    print(json.dumps(build(root)))  # noqa: T201 - a build script's report
