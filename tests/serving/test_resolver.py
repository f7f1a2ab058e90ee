"""Champion or base model: the resolver with the real tiny generator and a real
LoRA adapter folder, switching on refresh and on the poll interval, and keeping
the serving model when a new one cannot be loaded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ragtune.app.serving import build_runtime, default_loader
from ragtune.app.settings import Settings
from ragtune.tasks.generation.base import GenerationParams, Message
from ragtune.tasks.generation.config import GenerationConfig
from ragtune.tasks.serving.resolver import Champion, ModelResolver
from ragtune.tasks.serving.runtime import Poller
from ragtune.tasks.training.config import QLoRAConfig

TRAINING = QLoRAConfig(load_in_4bit=False, lora_r=4, lora_alpha=8, seed=13)
REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPT = [Message("user", "What is the complaint deadline?")]
GREEDY = GenerationParams(max_new_tokens=12, temperature=0.0)


@pytest.fixture(scope="module")
def settings() -> Settings:
    # the tiny model: these tests swap adapters trained on it, fast
    return Settings(
        root=REPO_ROOT, training=TRAINING, generation=GenerationConfig(provider="tiny")
    )


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory, serving_kit) -> Path:  # noqa: ANN001
    return serving_kit.lora_adapter(tmp_path_factory.mktemp("champion") / "answerer-v3")


def test_base_model_until_a_champion_then_the_champion(settings, adapter) -> None:  # noqa: ANN001
    promoted: list[Champion | None] = [None]
    resolver = ModelResolver(default_loader(settings), lambda: promoted[0])
    assert resolver.current is None
    assert resolver.refresh() is True
    base = resolver.current
    assert base.champion is None and base.adapter_version is None
    assert resolver.refresh() is False and resolver.current is base  # no reload

    promoted[0] = Champion("ragtune-answerer", "3", str(adapter))
    assert resolver.refresh() is True
    champion = resolver.current
    assert champion.adapter_version == "3"
    assert champion.generator.name == f"{base.generator.name}+answerer-v3"
    # The adapter really is in the answering path.
    assert (
        champion.generator.generate(PROMPT, GREEDY).text
        != base.generator.generate(PROMPT, GREEDY).text
    )

    promoted[0] = None  # demoted: back to the base model
    assert resolver.refresh() is True and resolver.current.champion is None


def test_a_champion_that_fails_to_load_keeps_the_current_model(
    settings,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    promoted: list[Champion | None] = [None]
    resolver = ModelResolver(default_loader(settings), lambda: promoted[0])
    resolver.refresh()
    serving = resolver.current
    promoted[0] = Champion("ragtune-answerer", "4", str(tmp_path / "no-adapter"))
    assert resolver.refresh() is False
    assert resolver.current is serving
    assert "champion 4" in resolver.last_error
    assert "adapter_config.json missing" in resolver.last_error

    def registry_down() -> Champion | None:
        raise ConnectionError("registry unreachable")

    broken = ModelResolver(default_loader(settings), registry_down)
    assert broken.refresh() is False and broken.current is None
    assert "registry unreachable" in broken.last_error


@pytest.mark.slow
def test_poller_picks_up_a_new_champion_without_restart(
    settings,  # noqa: ANN001
    adapter,  # noqa: ANN001
    embedder,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    promoted: list[Champion | None] = [None]
    template = REPO_ROOT / "data" / "prompts" / "answer_with_context.j2"
    local = Settings(  # state and index under tmp_path: nothing is published there
        root=tmp_path,
        training=TRAINING,
        generation=GenerationConfig(provider="tiny", prompt_template=template),
    )
    runtime = build_runtime(
        local,
        embedder=embedder,
        loader=default_loader(local),
        registry=lambda: promoted[0],
        insecure_local=True,
    )
    poller = Poller(runtime, interval=0.2)
    poller.start()
    try:
        _until(lambda: runtime.resolver.current is not None)
        assert runtime.resolver.current.champion is None
        assert runtime.index.current is None
        promoted[0] = Champion("ragtune-answerer", "3", str(adapter))
        _until(lambda: runtime.resolver.current.adapter_version == "3")
    finally:
        poller.stop()


def _until(condition, timeout: float = 120.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
