"""True labels from CSV, the leave-metadata-out estimate, and config drift."""

from __future__ import annotations

import pytest
import yaml

from ragtune.app.settings import load_settings, parse_settings
from ragtune.errors import ConfigError, InputError
from ragtune.tasks.freshness import leave_metadata_out_accuracy, load_labels
from ragtune.tasks.freshness.config import FreshnessConfig
from ragtune.tasks.freshness.defaults import CLASSES_FILE
from ragtune.tasks.freshness.evaluation import fold_assignment


def test_load_labels_reads_and_normalises(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("doc_id,class\na,regulatory\nb, Product_Pricing\na,regulatory\n")
    assert load_labels(path) == {"a": "regulatory", "b": "product-pricing"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,label\na,regulatory\n", r"missing column\(s\) \['class', 'doc_id'\]"),
        ("doc_id,class\na,\n", r"labels.csv:2: doc_id and class must not be blank"),
        ("doc_id,class\na,historical\na,regulatory\n", "'a' labelled both"),
    ],
)
def test_load_labels_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_labels(path)


def test_load_labels_missing_file(tmp_path):
    with pytest.raises(InputError, match="labels file not found"):
        load_labels(tmp_path / "nope.csv")


def test_folds_are_seeded_disjoint_and_complete():
    ids = [f"d{i}" for i in range(23)]
    folds = fold_assignment(ids, 5, seed=13)
    assert folds == fold_assignment(reversed(ids), 5, seed=13)
    assert folds != fold_assignment(ids, 5, seed=14)
    flat = [d for fold in folds for d in fold]
    assert sorted(flat) == sorted(ids) and len(folds) == 5


def test_leave_metadata_out_hides_metadata(embedder, cfg, doc):
    texts = {
        "regulatory": "Firms shall comply with clause {i} of the regulation, "
        "effective from 1 May; the regulator must be notified.",
        "product-pricing": "The saver pays {i}.1% AER with no monthly fee; the "
        "minimum deposit is EUR 100 and eligibility starts at 18.",
    }
    docs = [
        doc(f"{label[:3]}{i}", text.format(i=i), category=label)
        for label, text in texts.items()
        for i in range(5)
    ]
    labels = {d.doc_id: d.category for d in docs}
    result = leave_metadata_out_accuracy(docs, labels, cfg, embedder)
    assert result.total == 10
    assert "metadata" not in result.by_method  # every prediction came without it
    assert result.accuracy == 1.0


def test_leave_metadata_out_needs_labels(cfg, doc):
    with pytest.raises(InputError, match="no document .* has a true label"):
        leave_metadata_out_accuracy([doc("a", "x")], {"b": "historical"}, cfg, None)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"classes": {"regulatory": {"volatile": True, "keyword": ["x"]}}},
            "freshness.classes.regulatory.keyword: unknown key",
        ),
        ({"fallback_class": "news"}, "fallback_class 'news' is not one of"),
        (
            {"classes": {"a": {"volatile": True, "patterns": ["(x"]}}},
            "bad regular expression",
        ),
    ],
)
def test_bad_freshness_params_name_the_problem(tmp_path, section, message):
    with pytest.raises(ConfigError, match=message):
        parse_settings({"freshness": section}, tmp_path, "params.yaml")


def test_class_names_must_be_normalised():
    with pytest.raises(ValueError, match="lowercase words joined by hyphens"):
        FreshnessConfig(classes={"Product_Pricing": {"volatile": True}})


def test_the_class_vocabulary_lives_in_one_file(repo_root):
    """classes.yaml is the one copy: params.yaml does not repeat it, no module
    spells it out, and a params.yaml ``classes`` mapping replaces it whole."""
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    assert "classes" not in raw["freshness"]
    shipped = load_settings(repo_root / "params.yaml", env={}).freshness
    assert shipped == FreshnessConfig()
    assert set(shipped.classes) == set(yaml.safe_load(CLASSES_FILE.read_text()))
    phrase = "payment service provider"  # one term of the regulatory vocabulary
    holders = [
        p.name
        for p in (repo_root / "tasks" / "freshness").iterdir()
        if p.is_file() and phrase in p.read_text(encoding="utf-8")
    ]
    assert holders == ["classes.yaml"]
    own = FreshnessConfig(classes={"legal": {"volatile": True, "keywords": ["x"]}})
    assert set(own.classes) == {"legal"}
