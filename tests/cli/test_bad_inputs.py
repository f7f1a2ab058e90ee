"""Bad inputs across the CLI, each run through the console script's ``main`` in
process: the documented exit code (2 bad input, 1 a check said no), a message that
names the problem, no traceback, one JSON object on stdout under ``--json``, and
all of it before any Prefect flow starts or any embedder loads (both are made to
fail loudly here, so a check that comes too late fails this test).

The test writes what the runs printed to ``docs/bad-inputs.md`` and fails while the
committed copy differs, so the table stays what the CLI really says. Regenerate it
with ``RAGTUNE_REGEN_DOCS=1 pytest tests/cli/test_bad_inputs.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .conftest import make_small_project

DOC = Path("docs") / "bad-inputs.md"
REGEN_ENV = "RAGTUNE_REGEN_DOCS"
REGEN_COMMAND = f"{REGEN_ENV}=1 pytest tests/cli/test_bad_inputs.py"
REGENERATE = bool(os.environ.get(REGEN_ENV))  # read before the cases clear RAGTUNE_*
# variables that would change what a case sees: every params override, and the
# cloud credentials whose absence some cases are about
_CLEARED_PREFIXES = ("RAGTUNE_", "RUNPOD_", "MODAL_")


class FlowStarted(AssertionError):
    """A bad input reached a Prefect flow or the embedder: checked too late."""


@dataclass(frozen=True)
class Case:
    """One bad input: what to run, what the output must say, which exit code."""

    problem: str  # the bad input, in words, for the table
    args: tuple[str, ...]
    expect: str  # a substring of stdout + stderr that names the problem
    code: int = 2
    env: Mapping[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None  # writes files into the project


@dataclass(frozen=True)
class Outcome:
    """What one case printed, with the project folder as ``<project>``."""

    code: int | str
    stdout: str
    stderr: str

    @property
    def message(self) -> str:
        """The error as one line: ragtune's ``error:`` line and the lines after it
        (a config error lists one bad key a line), or the text in typer's panel."""
        lines = self.stderr.splitlines()
        marks = [x.startswith(("error: ", "╭─ Error")) for x in lines]
        if not any(marks):
            return ((self.stderr or self.stdout).splitlines() or [""])[0].strip()
        start = marks.index(True)
        if lines[start].startswith("error: "):
            picked = [lines[start].removeprefix("error: "), *lines[start + 1 :]]
        else:  # the panel's lines up to its bottom border, without the frame
            inner = lines[start + 1 :]
            end = next(i for i, x in enumerate(inner) if x.startswith("╰"))
            picked = [x.strip("│ ") for x in inner[:end]]
        return " ".join(x.strip() for x in picked if x.strip())


def _write(rel: str, text: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    return setup


def _params(rel: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    """A copy of the project's params.yaml, changed, written to ``rel``."""

    def setup(root: Path) -> None:
        params = yaml.safe_load((root / "params.yaml").read_text())
        change(params)
        (root / rel).write_text(yaml.safe_dump(params, sort_keys=False))

    return setup


def _git_kb(root: Path) -> None:
    """``repo/kb``: a knowledge base committed to its own git repository."""
    repo = root / "repo"
    (repo / "kb").mkdir(parents=True)
    (repo / "kb" / "note.md").write_text("# A note\n\nSome text for the test.\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "kb"], ["commit", "-qm", "kb"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)


GAP = {
    "name": "rates",
    "description": "Members ask for the current savings rates.",
    "examples": ["What rate does the Harbour Saver pay?"],
    "change_frequency": "weekly",
    "accuracy_target": {"metric": "token_f1", "target": 0.8},
    "query_volume_per_month": 1000,
    "eval_slice": {"classes": ["product-pricing"]},
}


def _gaps(rel: str, *gaps: dict) -> Callable[[Path], None]:
    return _write(rel, yaml.safe_dump({"gaps": list(gaps)}, sort_keys=False))


FRONT = "---\nid: {id}\ntitle: A document\ncategory: {category}\n---\n\n"
BODY = "# A document\n\n" + "Text that is long enough to pass the length check. " * 3


CASES: tuple[Case, ...] = (
    # the command line itself
    Case("unknown command", ("no-such-command",), "No such command"),
    Case("unknown flag", ("refresh", "--bogus"), "No such option: --bogus"),
    Case("unknown flag under --json", ("refresh", "--bogus", "--json"), "--bogus"),
    Case("missing argument", ("query",), "Missing argument 'text'"),
    # params.yaml
    Case(
        "--params file missing",
        ("validate", "-p", "missing.yaml"),
        "missing.yaml: params file not found",
    ),
    Case(
        "YAML syntax error in the params file (`chunking: [size: 500`)",
        ("validate", "-p", "syntax.yaml"),
        "is not valid YAML",
        setup=_write("syntax.yaml", "chunking: [size: 500\n"),
    ),
    Case(
        "unknown key `chunking.sise` in the params file",
        ("validate", "-p", "unknown-key.yaml"),
        "chunking.sise: unknown key",
        setup=_params("unknown-key.yaml", lambda p: p["chunking"].update(sise=500)),
    ),
    Case(
        "unknown section `chunkin:` in the params file",
        ("validate", "-p", "unknown-section.yaml"),
        "chunkin: unknown key",
        setup=_write("unknown-section.yaml", "chunkin:\n  size: 500\n"),
    ),
    Case(
        "wrong type in the params file (`size: huge`)",
        ("validate", "-p", "wrong-type.yaml"),
        "chunking.size",
        setup=_write("wrong-type.yaml", "chunking:\n  size: huge\n"),
    ),
    Case(
        "wrong type in the params file, under --json",
        ("validate", "-p", "wrong-type.yaml", "--json"),
        "chunking.size",
        setup=_write("wrong-type.yaml", "chunking:\n  size: huge\n"),
    ),
    Case(
        "a params file that is a list, not a mapping",
        ("validate", "-p", "list.yaml"),
        "expected a mapping of sections",
        setup=_write("list.yaml", "- chunking\n- index\n"),
    ),
    Case(
        "a params file that sets `root:`",
        ("validate", "-p", "root.yaml"),
        "root: unknown key",
        setup=_write("root.yaml", "root: /elsewhere\n"),
    ),
    Case(
        "a negative share (`max_quarantine_share: -1`)",
        ("validate", "-p", "negative.yaml"),
        "validation.max_quarantine_share",
        setup=_params(
            "negative.yaml", lambda p: p["validation"].update(max_quarantine_share=-1)
        ),
    ),
    # environment overrides
    Case(
        "RAGTUNE_PARAMS names a missing file",
        ("validate",),
        "params file not found",
        env={"RAGTUNE_PARAMS": "nowhere/params.yaml"},
    ),
    Case(
        "RAGTUNE_OVERLAY names a missing overlay",
        ("validate",),
        "RAGTUNE_OVERLAY overlay not found",
        env={"RAGTUNE_OVERLAY": "prod"},
    ),
    Case(
        "override of the wrong type",
        ("validate",),
        "chunking.size",
        env={"RAGTUNE_CHUNKING__SIZE": "huge"},
    ),
    Case(
        "override that is not YAML",
        ("validate", "--json"),
        "RAGTUNE_CHUNKING__SIZE: not a valid YAML value",
        env={"RAGTUNE_CHUNKING__SIZE": "[unclosed"},
    ),
    Case(
        "override below a value",
        ("validate",),
        "chunking.size.max is not a section",
        env={"RAGTUNE_CHUNKING__SIZE__MAX": "1"},
    ),
    Case(
        "override of an unknown section",
        ("validate",),
        "chunkin: unknown key",
        env={"RAGTUNE_CHUNKIN__SIZE": "500"},
    ),
    # the knowledge base
    Case(
        "--kb folder missing",
        ("validate", "--kb", "/nonexistent-kb"),
        "/nonexistent-kb",
    ),
    Case(
        "a document whose front matter is broken YAML",
        ("validate", "--kb", "kb-front-matter"),
        "front matter",
        code=1,
        setup=_write("kb-front-matter/broken.md", "---\nid: [broken\n---\n\n" + BODY),
    ),
    Case(
        "a document of an unknown category, under --json",
        ("validate", "--kb", "kb-category", "--json"),
        "category 'gossip' is not one of",
        code=1,
        setup=_write(
            "kb-category/doc.md", FRONT.format(id="doc", category="gossip") + BODY
        ),
    ),
    Case(
        "--kb folder missing",
        ("classify", "--kb", "/nonexistent-kb"),
        "/nonexistent-kb",
    ),
    Case(
        "--today not a date",
        ("classify", "--today", "tomorrow"),
        "'tomorrow' is not an ISO date",
    ),
    # refresh
    Case(
        "unknown --class",
        ("refresh", "--class", "gossip"),
        "unknown freshness class gossip",
    ),
    Case(
        "unknown --class under --json",
        ("refresh", "--class", "gossip", "--json"),
        "unknown freshness class gossip",
    ),
    Case(
        "--kb folder missing",
        ("refresh", "--kb", "/nonexistent-kb"),
        "no such knowledge-base folder",
    ),
    Case(
        "--rebuild with --class",
        ("refresh", "--rebuild", "--class", "historical"),
        "a rebuild replaces the whole index",
    ),
    Case(
        "--rev outside git",
        ("refresh", "--rev", "HEAD~1"),
        "is not in a git repository",
    ),
    Case(
        "--rev naming no commit",
        ("refresh", "--kb", "repo/kb", "--rev", "no-such-rev"),
        "no-such-rev",
        setup=_git_kb,
    ),
    # query and the index
    Case("query before any publish", ("query", "overdraft"), "no live index yet"),
    Case(
        "--as-of not a date",
        ("query", "x", "--as-of", "soon"),
        "'soon' is not an ISO date",
    ),
    Case(
        "--as-of not a date under --json",
        ("query", "x", "--as-of", "2026-13-01", "--json"),
        "'2026-13-01' is not an ISO date",
    ),
    Case("--k zero", ("query", "x", "--k", "0"), "'--k'"),
    Case(
        "unknown --class",
        ("query", "x", "--class", "gossip"),
        "unknown freshness class gossip",
    ),
    Case(
        "--all-dates with --as-of",
        ("query", "x", "--all-dates", "--as-of", "2026-01-01"),
        "exclude each other",
    ),
    Case(
        "index rollback to an unknown tag",
        ("index", "rollback", "no-such-tag"),
        "no published tag 'no-such-tag'",
    ),
    # decide and GAPS.yaml
    Case(
        "gaps file missing", ("decide", "nope.yaml"), "nope.yaml: gaps file not found"
    ),
    Case(
        "GAPS.yaml syntax error (`gaps: [`), under --json",
        ("decide", "gaps-syntax.yaml", "--json"),
        "gaps-syntax.yaml is not valid YAML",
        setup=_write("gaps-syntax.yaml", "gaps: [\n"),
    ),
    Case(
        "GAPS.yaml unknown field (`query_volume: 5`)",
        ("decide", "gaps-field.yaml"),
        "query_volume: unknown key",
        setup=_gaps("gaps-field.yaml", GAP | {"query_volume": 5}),
    ),
    Case(
        "GAPS.yaml unknown class in `eval_slice`, under --json",
        ("decide", "gaps-class.yaml", "--json"),
        "unknown class(es) gossip",
        setup=_gaps("gaps-class.yaml", GAP | {"eval_slice": {"classes": ["gossip"]}}),
    ),
    Case(
        "GAPS.yaml unknown `change_frequency: hourly`",
        ("decide", "gaps-frequency.yaml"),
        "change_frequency: 'hourly'",
        setup=_gaps("gaps-frequency.yaml", GAP | {"change_frequency": "hourly"}),
    ),
    Case(
        "--gap not in the file",
        ("decide", "gaps.yaml", "--gap", "nope"),
        "unknown gap(s) nope",
        setup=_gaps("gaps.yaml", GAP),
    ),
    Case(
        "--answers negative", ("decide", "gaps.yaml", "--answers", "-1"), "'--answers'"
    ),
    Case(
        "a good gaps file, no index yet",
        ("decide", "gaps.yaml", "--json"),
        "no live index at",
        setup=_gaps("gaps.yaml", GAP),
    ),
    # retrain and its backends
    Case(
        "unknown --backend", ("retrain", "--backend", "nope"), "unknown backend 'nope'"
    ),
    Case(
        "--backend runpod without a key",
        ("retrain", "--backend", "runpod"),
        "RUNPOD_API_KEY",
    ),
    Case(
        "--backend modal without tokens",
        ("retrain", "--backend", "modal", "--json"),
        "MODAL_TOKEN_ID",
    ),
    Case(
        "backend GPU not in the catalogue",
        ("retrain", "--backend", "local"),
        "backends.local.gpu 'TPU-v9'",
        env={"RAGTUNE_BACKENDS__LOCAL__GPU": "TPU-v9"},
    ),
    Case(
        "--gaps without --gap", ("retrain", "--gaps", "gaps.yaml"), "--gaps needs --gap"
    ),
    Case(
        "--gap not in the gaps file",
        ("retrain", "--backend", "local", "--gap", "nope", "--gaps", "gaps.yaml"),
        "has no gap 'nope'",
        setup=_gaps("gaps.yaml", GAP),
    ),
    # eval
    Case(
        "unknown --config",
        ("eval", "--config", "gossip"),
        "unknown configuration(s) gossip",
    ),
    Case(
        "fine-tuned without an adapter",
        ("eval", "--config", "fine-tuned"),
        "fine-tuned configurations need an adapter",
    ),
    Case(
        "--adapter folder missing",
        ("eval", "--adapter", "no-adapter"),
        "--adapter no-adapter",
    ),
    Case(
        "--eval folder missing",
        ("eval", "--eval", "no-eval", "--config", "base"),
        "no-eval",
    ),
    Case(
        "unknown qrels --split",
        ("eval", "--split", "nope", "--config", "base"),
        "nope.tsv",
    ),
    Case(
        "unknown model name",
        ("eval", "--model", "gpt-9", "--config", "base"),
        "model 'gpt-9'",
    ),
    Case("--limit zero", ("eval", "--limit", "0"), "'--limit'"),
    Case("eval with no index yet", ("eval", "--json"), "no live index yet"),
    # the model registry
    Case("model version not a number", ("model", "rollback", "v2"), "'version'"),
    Case(
        "rollback to a version never promoted",
        ("model", "rollback", "7"),
        "version 7 was never promoted",
    ),
    Case(
        "rollback flow to a version never promoted",
        ("model", "rollback", "7", "--flow", "--json"),
        "version 7 was never promoted",
    ),
    # the SFT dataset
    Case(
        "curated folder missing",
        ("dataset", "build"),
        "curated SFT folder",
        env={"RAGTUNE_DATASET__CURATED_DIR": "nowhere"},
    ),
    Case(
        "dataset check before a build",
        ("dataset", "check", "--json"),
        "run `ragtune dataset build`",
    ),
    # a new knowledge base, deployments
    Case(
        "init on a file",
        ("init", "params.yaml"),
        "is a file; a knowledge base needs a folder",
    ),
    Case(
        "init with an unknown remote",
        ("init", "newkb", "--remote", "ftp://host/x"),
        "'ftp://host/x'",
    ),
    Case(
        "deploy --write-yaml into a missing folder",
        ("deploy", "--write-yaml", "no-such-dir/prefect.yaml"),
        "folder no-such-dir does not exist",
    ),
    # audit
    Case(
        "audit verify --log missing",
        ("audit", "verify", "--log", "missing.jsonl"),
        "no such audit log file",
    ),
    Case(
        "an audit log that is not JSON lines, under --json",
        ("audit", "verify", "--log", "garbage.jsonl", "--json"),
        "garbage.jsonl: line 1",
        code=1,
        setup=_write("garbage.jsonl", "not a record\n"),
    ),
    Case(
        "audit repair --log missing",
        ("audit", "repair", "--log", "missing.jsonl"),
        "no such audit log file",
    ),
    Case(
        "audit export into a missing folder",
        ("audit", "export", "--out", "no-such-dir/audit.csv"),
        "folder no-such-dir does not exist",
    ),
    Case(
        "audit export --since not a date",
        ("audit", "export", "--out", "audit.csv", "--since", "last week"),
        "'--since'",
    ),
    # estimate
    Case(
        "unknown --model-size",
        ("estimate", "--model-size", "9Z", "--examples", "10"),
        "model size '9Z' is not known",
    ),
    Case(
        "zero --examples",
        ("estimate", "--model-size", "7B", "--examples", "0"),
        "'--examples'",
    ),
    Case(
        "unknown --method",
        ("estimate", "--model-size", "7B", "--examples", "10", "--method", "sft"),
        "(got 'sft')",
    ),
    Case(
        "unknown --gpu",
        ("estimate", "--model-size", "7B", "--examples", "10", "--gpu", "TPU-v9"),
        "GPU 'TPU-v9' is not in the catalogue",
    ),
    # drift, watch, serve
    Case(
        "drift --at not a time",
        ("drift", "check", "--at", "soon", "--json"),
        "--at 'soon'",
    ),
    Case(
        "watch with no sources",
        ("watch", "--once"),
        "watch.sources in params.yaml is empty",
    ),
    Case(
        "watch --json without --once",
        ("watch", "--json"),
        "--json needs --once",
        env={"RAGTUNE_WATCH__SOURCES": "[{name: regs, kind: folder, path: regs}]"},
    ),
    Case("serve --port zero", ("serve", "--port", "0"), "'--port'"),
    Case(
        "serve without keys on the network",
        ("serve", "--insecure-local", "--host", "0.0.0.0"),
        "--insecure-local serves without API keys, so only on loopback",
    ),
    Case(
        "serve with the shipped key settings and no keys set",
        ("serve",),
        "RAGTUNE_API_KEYS, but that environment variable is unset or empty",
        env={"RAGTUNE_API_KEYS": ""},
    ),
    Case("serve --log-level unknown", ("serve", "--log-level", "loud"), "'loud'"),
    Case(
        "serve with its API keys variable unset",
        ("serve",),
        "NO_SUCH_KEYS_VAR, but that environment variable is unset or empty",
        env={"RAGTUNE_SERVING__API_KEYS_ENV": "NO_SUCH_KEYS_VAR"},
    ),
)


@pytest.fixture()
def project(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The small CLI project as the working folder, nothing of the caller's
    environment that a case depends on, and flows and embedders that refuse."""
    import prefect.flows

    import ragtune.tasks.embedding.embedder as embedder

    root = tmp_path / "project"
    root.mkdir()
    make_small_project(root, repo_root)
    monkeypatch.chdir(root)
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")  # typer's panel: one line per message

    def refuse(what: str) -> Callable[..., None]:
        def call(*args: object, **kwargs: object) -> None:
            raise FlowStarted(f"{what} started before the bad input was refused")

        return call

    monkeypatch.setattr(prefect.flows.Flow, "__call__", refuse("a Prefect flow"))
    monkeypatch.setattr(embedder, "build_embedder", refuse("an embedder"))
    yield root


def run_case(case: Case, root: Path, capsys: pytest.CaptureFixture[str]) -> Outcome:
    """``main(args)`` in this process with the case's environment."""
    from ragtune.cli import main

    if case.setup is not None:
        case.setup(root)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in case.env.items():
            mp.setenv(name, value)
        try:
            main(list(case.args))
            code: int | str = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else str(stop.code)
    out = capsys.readouterr()
    return Outcome(code, _stable(out.out, root), _stable(out.err, root))


def _stable(text: str, root: Path) -> str:
    for path in sorted({str(root.resolve()), str(root)}, key=len, reverse=True):
        text = text.replace(path, "<project>")
    return text


def problems_with(case: Case, got: Outcome) -> list[str]:
    """Where the outcome breaks the contract (empty when it keeps it)."""
    found = []
    both = got.stdout + got.stderr
    if got.code != case.code:
        found.append(f"exit code {got.code}, not {case.code}")
    if case.expect not in both:
        found.append(f"{case.expect!r} not in the output")
    if "Traceback" in both:
        found.append("a traceback")
    if not got.message:
        found.append("no message")
    if "--json" in case.args:
        lines = got.stdout.splitlines()
        try:
            ok = len(lines) == 1 and isinstance(json.loads(lines[0]), dict)
        except json.JSONDecodeError:
            ok = False
        if not ok:
            found.append(f"--json: stdout is not one JSON object: {got.stdout!r}")
    return found


def render(rows: list[tuple[Case, Outcome]]) -> str:
    """docs/bad-inputs.md: one row per case, as the runs printed it."""
    head = [
        "# Bad inputs: what the CLI says",
        "",
        "Generated by `tests/cli/test_bad_inputs.py`, which runs every row through",
        "the console script and fails when this file differs from what the runs",
        f"printed (regenerate: `{REGEN_COMMAND}`).",
        "Exit codes: 0 ok, 1 a gate or check said no, 2 bad input or configuration,",
        "3 another run holds the lock. Every refusal below comes before any Prefect",
        "flow starts or any model loads, without a traceback; under `--json` stdout",
        "holds one JSON object (`error` and `exit_code`, when the command printed",
        "nothing else). The message is the one on stderr, its lines joined;",
        "`<project>` is the project folder.",
        "",
        "| bad input | command | exit | message |",
        "|---|---|---|---|",
    ]
    body = [
        f"| {case.problem} | `{_command(case)}` | {got.code} | {_cell(got.message)} |"
        for case, got in rows
    ]
    return "\n".join(head + body) + "\n"


def _command(case: Case) -> str:
    env = " ".join(f"{k}={_quoted(v)}" for k, v in case.env.items())
    line = " ".join(["ragtune", *map(_quoted, case.args)])
    return f"{env} {line}" if env else line


def _quoted(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " []{}~") else arg


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def test_bad_inputs_are_refused_clearly_and_documented(
    project: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(CASES) >= 40
    rows, failures = [], []
    for case in CASES:
        try:
            got = run_case(case, project, capsys)
        except FlowStarted as exc:
            failures.append(f"{_command(case)}: {exc}")
            continue
        rows.append((case, got))
        failures += [
            f"{_command(case)}: {problem} (exit {got.code}: {got.message})"
            for problem in problems_with(case, got)
        ]
    assert not failures, "\n".join(failures)
    doc = repo_root / DOC
    text = render(rows)
    if REGENERATE:
        doc.write_text(text, encoding="utf-8")
    assert doc.is_file() and doc.read_text(encoding="utf-8") == text, (
        f"{DOC} is out of date: run {REGEN_COMMAND}"
    )


def test_debug_shows_the_traceback_of_a_bad_input(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The contract's exception: tracebacks only when asked for."""
    from ragtune.cli.app import main

    for args, traced in (([], False), (["--debug"], True)):
        with pytest.raises(SystemExit) as ended:
            main([*args, "audit", "verify", "--log", "no-such.jsonl"])
        err = capsys.readouterr().err
        assert ended.value.code == 2 and "no such audit log file" in err
        assert ("Traceback" in err) is traced
