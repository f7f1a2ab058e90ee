"""GAPS.yaml schema: strict, and every error names the gap and the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ragtune.errors import InputError
from ragtune.tasks.decision.gaps import GAP_TYPES, file_sha256, load_gaps
from ragtune.tasks.freshness.config import FreshnessConfig

CLASSES = FreshnessConfig().classes


def write(tmp_path: Path, gaps: list[dict], **top) -> Path:  # noqa: ANN003
    path = tmp_path / "GAPS.yaml"
    path.write_text(yaml.safe_dump({"gaps": gaps, **top}, sort_keys=False))
    return path


def gap(kit, **changes) -> dict:  # noqa: ANN001, ANN003
    return copy.deepcopy(kit.BASE_GAP) | changes


def test_sample_gaps_load_and_cover_the_schema(repo_root: Path) -> None:
    gaps = load_gaps(repo_root / "data/gaps/sample-gaps.yaml", CLASSES)
    assert gaps.organisation == "Northwind Mutual"
    assert len(gaps.gaps) >= 6
    declared = {g.gap_type for g in gaps.gaps} - {None}
    assert len(declared) >= 3 and declared <= set(GAP_TYPES)
    assert any(g.gap_type is None for g in gaps.gaps)  # some are inferred
    complaint = next(g for g in gaps.gaps if g.name == "complaint-case-updates")
    # the schema path is resolved against the gaps file and exists
    assert complaint.format.json_schema.is_absolute()
    assert complaint.format.json_schema.is_file()
    # its own eval set, resolved the same way
    assert complaint.eval_slice.eval_set == repo_root / "data/gaps" / complaint.name
    assert {g.accuracy_target.metric for g in gaps.gaps} >= {
        "recall_at_k",
        "token_f1",
        "format_compliance",
    }


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"colour": "red"}, ["gap 'test-gap' (gaps[1])", "colour: unknown key"]),
        (
            {"accuracy_target": {"metric": "recall_at_k", "target": 1.5}},
            ["gap 'test-gap'", "accuracy_target.target", "less than or equal to 1"],
        ),
        (
            {"accuracy_target": {"metric": "bleu", "target": 0.5}},
            ["accuracy_target.metric", "'bleu'"],
        ),
        ({"gap_type": "pricing"}, ["gap_type", "'pricing'"]),
        ({"query_volume_per_month": "lots"}, ["query_volume_per_month", "'lots'"]),
        ({"personal_data": "yes please"}, ["personal_data"]),
        ({"examples": []}, ["examples", "at least 1"]),
        ({"name": "Bad Name"}, ["gap 'Bad Name'", "name", "pattern"]),
        (
            {"eval_slice": {}},
            ["eval_slice", "at least one class, query id or eval_set"],
        ),
        (
            {"format": {"regex": "^a$", "json_schema": "x.json"}},
            ["format", "exactly one of json_schema or regex"],
        ),
        ({"format": {"regex": "(unclosed"}}, ["format", "regex does not compile"]),
        (
            {"accuracy_target": {"metric": "format_compliance", "target": 0.9}},
            ["format_compliance needs a format"],
        ),
    ],
)
def test_schema_errors_name_gap_and_key(
    kit, tmp_path: Path, changes: dict, fragments: list[str]
) -> None:
    path = write(tmp_path, [gap(kit, name="ok-gap"), gap(kit, **changes)])
    with pytest.raises(InputError) as err:
        load_gaps(path, CLASSES)
    message = str(err.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert "ok-gap" not in message  # only the bad gap is blamed


def test_missing_key_is_named(kit, tmp_path: Path) -> None:
    broken = gap(kit)
    del broken["accuracy_target"]
    with pytest.raises(InputError, match=r"accuracy_target: required key is missing"):
        load_gaps(write(tmp_path, [broken]))


def test_every_error_reported_at_once(kit, tmp_path: Path) -> None:
    bad = gap(kit, latency_budget_ms=0, labelled_examples=-3)
    with pytest.raises(InputError) as err:
        load_gaps(write(tmp_path, [bad]))
    assert "latency_budget_ms" in str(err.value)
    assert "labelled_examples" in str(err.value)


def test_unknown_frequency_and_class_named(kit, tmp_path: Path) -> None:
    bad = gap(
        kit,
        change_frequency="hourly",
        eval_slice={"classes": ["pricing", "regulatory"]},
    )
    with pytest.raises(InputError) as err:
        load_gaps(write(tmp_path, [bad]), CLASSES)
    message = str(err.value)
    assert "gap 'test-gap': change_frequency: 'hourly'" in message
    assert "eval_slice.classes: unknown class(es) pricing" in message


def test_freshness_class_is_a_valid_frequency(kit, tmp_path: Path) -> None:
    path = write(tmp_path, [gap(kit, change_frequency="product-pricing")])
    assert load_gaps(path, CLASSES).gaps[0].change_frequency == "product-pricing"


def test_json_schema_file_must_exist_and_parse(kit, tmp_path: Path) -> None:
    path = write(tmp_path, [gap(kit, format={"json_schema": "nope.json"})])
    with pytest.raises(InputError, match=r"format.json_schema: .*nope.json not found"):
        load_gaps(path)
    (tmp_path / "bad.json").write_text("{not json")
    path = write(tmp_path, [gap(kit, format={"json_schema": "bad.json"})])
    with pytest.raises(InputError, match="is not JSON"):
        load_gaps(path)


def test_a_gaps_own_eval_set_must_be_a_beir_folder(kit, tmp_path: Path) -> None:
    path = write(tmp_path, [gap(kit, eval_slice={"eval_set": "mine"})])
    with pytest.raises(InputError, match=r"eval_slice.eval_set: .*mine has no queries"):
        load_gaps(path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "queries.jsonl").write_text("")
    loaded = load_gaps(path, CLASSES).gaps[0]
    assert loaded.eval_slice.eval_set == tmp_path / "mine"
    assert loaded.eval_slice.classes == ()


def test_a_gap_without_eval_slice_checks_its_classes(kit, tmp_path: Path) -> None:
    path = write(tmp_path, [gap(kit, eval_slice=None)])
    assert load_gaps(path, CLASSES).gaps[0].eval_slice is None


def test_duplicate_names_and_empty_file(kit, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="gap names repeat: test-gap"):
        load_gaps(write(tmp_path, [gap(kit), gap(kit)]))
    with pytest.raises(InputError, match="gaps: .*at least 1"):
        load_gaps(write(tmp_path, []))
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(InputError, match="expected a mapping"):
        load_gaps(tmp_path / "list.yaml")
    with pytest.raises(InputError, match="gaps file not found"):
        load_gaps(tmp_path / "missing.yaml")


def test_file_hash_changes_with_content(kit, tmp_path: Path) -> None:
    path = write(tmp_path, [gap(kit)])
    first = file_sha256(path)
    path.write_text(path.read_text().replace("10000", "20000"))
    assert file_sha256(path) != first and len(first) == 64


def test_selecting_an_unknown_gap_names_the_known_ones(repo_root) -> None:
    from ragtune.errors import InputError
    from ragtune.tasks.decision.gaps import load_gaps

    gaps = load_gaps(repo_root / "data/gaps/sample-gaps.yaml")
    picked = gaps.select(["rate-change-sms", "member-rates-and-fees"])
    # the file's order, whatever the order asked
    assert [g.name for g in picked.gaps] == ["member-rates-and-fees", "rate-change-sms"]
    assert gaps.select(None) is gaps
    with pytest.raises(InputError, match="unknown gap.*nope.*the file has: member"):
        gaps.select(["nope"])


def test_a_registry_model_must_be_champion_or_a_number(tmp_path) -> None:
    from ragtune.app.catalog import Catalog
    from ragtune.app.settings import Settings
    from ragtune.errors import InputError
    from ragtune.tasks.registry.lookup import registered_adapter

    catalog = Catalog.from_settings(Settings(root=tmp_path))
    registry, cache = catalog.open_registry(), catalog.adapter_cache
    assert registry is None  # nothing written yet, nothing created
    with pytest.raises(InputError, match="give 'champion' or a version number"):
        registered_adapter(registry, cache, "latest")
    with pytest.raises(InputError, match="no model registry yet"):
        registered_adapter(registry, cache, "3")
    assert registered_adapter(registry, cache, required=False) is None
