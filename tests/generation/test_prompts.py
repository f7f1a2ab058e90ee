"""Prompt templates from files, and stop strings over streamed pieces."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.generation.prompts import ContextSource, PromptTemplate
from ragtune.tasks.generation.stops import cut_at_stop, stream_until_stop

SOURCES = [
    ContextSource("pricing/motor.md", "The base premium is 420 EUR a year.", "Motor"),
    ContextSource("concepts/deductible.md", "A deductible lowers the premium."),
]


def test_repo_template_lists_sources_by_id_and_asks_for_citations(repo_root: Path):
    template = PromptTemplate.load(repo_root / "data/prompts/answer_with_context.j2")

    system, user = template.render("What is the base premium?", SOURCES)

    assert (system.role, user.role) == ("system", "user")
    assert "cite the source you used as\n[doc_id]" in system.content
    # each source's text, then its id; the bare question last
    assert (
        "The base premium is 420 EUR a year.\n(source: [pricing/motor.md])\n\n"
        "A deductible lowers the premium.\n(source: [concepts/deductible.md])"
    ) in user.content
    assert user.content.rstrip().endswith("\nWhat is the base premium?")
    assert len(template.sha256) == 64 and template.ref.endswith(template.sha256[:12])


def test_repo_template_without_context_has_no_sources(repo_root: Path):
    template = PromptTemplate.load(repo_root / "data/prompts/answer_without_context.j2")

    messages = template.render("What is the base premium?")

    assert [m.role for m in messages] == ["system", "user"]
    assert "source" not in messages[1].content
    assert messages[1].content.strip() == "What is the base premium?"


def test_context_budget_keeps_the_best_sources_first(repo_root: Path):
    template = PromptTemplate.load(repo_root / "data/prompts/answer_with_context.j2")

    user = template.render("q?", SOURCES, max_context_chars=20)[-1].content

    assert "The base premium is …" in user  # first source cut at 20 characters
    assert "deductible" not in user  # second one dropped


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Question: {{ question }}", "needs a {% block user %}"),
        ("{% block user %}{{ question }{% endblock %}", "line 1"),
    ],
)
def test_broken_templates_are_config_errors(tmp_path, text, fragment):
    path = tmp_path / "bad.j2"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment.replace("{", r"\{")):
        PromptTemplate.load(path)


def test_misspelt_variable_and_empty_question_fail_loudly(tmp_path):
    path = tmp_path / "typo.j2"
    path.write_text("{% block user %}{{ questoin }}{% endblock %}")
    template = PromptTemplate.load(path)
    with pytest.raises(ConfigError, match="'questoin' is undefined"):
        template.render("q?")
    with pytest.raises(InputError, match="empty question"):
        template.render("  ")
    with pytest.raises(ConfigError, match="cannot read"):
        PromptTemplate.load(tmp_path / "missing.j2")


def test_cut_at_stop_takes_the_earliest_stop():
    assert cut_at_stop("a STOP b END c", ["END", "STOP"]) == ("a ", True)
    assert cut_at_stop("no stop here", ["END"]) == ("no stop here", False)


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["ab", "c<", "/s", "> tail"], "abc"),  # stop split over three pieces
        (["abc</s>", "more"], "abc"),
        (["<", "x", "/s"], "<x/s"),  # near misses are released at the end
        (["", "abc", ""], "abc"),
    ],
)
def test_stream_until_stop_never_leaks_a_split_stop(pieces, expected):
    out = list(stream_until_stop(pieces, ["</s>"]))
    assert "".join(out) == expected and all(out)
