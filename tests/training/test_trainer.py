"""train(job) on the tiny 4-bit model: learning, outputs, MLflow, card, bad input.

One job is trained once for the module (12 steps on 32 chat examples); the tests
read what it left behind. Bad inputs must fail in the cheap checks, before a
weight is loaded or an MLflow run is opened.
"""

from __future__ import annotations

import json
from pathlib import Path

import bitsandbytes as bnb
import pytest
import torch
from mlflow import MlflowClient

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.training.batching import collate
from ragtune.tasks.training.checkpoint import list_checkpoints
from ragtune.tasks.training.config import DPConfig
from ragtune.tasks.training.data import load_chat_dataset
from ragtune.tasks.training.entrypoint import train
from ragtune.tasks.training.outputs import build_model, load_trained
from ragtune.tasks.training.steps import FitData, token_loss_sums
from ragtune.tasks.training.trainer import fit

from ._sft import fast_qlora, make_job, single_thread, write_data, write_sft


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with single_thread():
        yield


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_data(tmp_path_factory.mktemp("sft"))


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory) -> str:
    # One database for the session: creating MLflow's schema costs seconds.
    return f"sqlite:///{tmp_path_factory.getbasetemp() / 'mlflow.db'}"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data, tracking_uri):
    job = make_job(tmp_path_factory.mktemp("runs"), data, tracking_uri, "tariffs")
    return job, train(job)


def test_loss_falls_on_train_and_eval(trained):
    job, result = trained
    card = json.loads(result.card_path.read_text())

    curve = card["loss_curve"]
    assert len(curve) == result.steps == 12
    # Twelve steps over four repeated facts: the loss falls well below its start
    # (ln 260 = 5.56 for a uniform guess over the byte vocabulary).
    assert curve[0] > 5.3 and result.final_loss < curve[0] - 1.0, curve
    evals = [loss for _, loss in card["eval_curve"]]
    assert [step for step, _ in card["eval_curve"]] == [4, 8, 12]
    assert evals[-1] < evals[0] - 0.5 and result.eval_loss == evals[-1]
    # 12 steps x 8 examples: three epochs of the 32 examples, pads not counted.
    assert result.tokens_seen == 3 * sum(len(ex) for ex in _train_examples(job))


def test_progress_lines_follow_every_step_for_the_progress_bar(trained):
    from ragtune.tasks.training.progress import PROGRESS_FILE

    job, result = trained
    text = (job.output_dir / PROGRESS_FILE).read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    phases = [line["phase"] for line in lines]
    assert phases[0] == "loading" and phases[-2:] == ["saving", "done"]
    assert phases.count("evaluating") == 3  # eval_steps 4 of 12
    steps = [line["step"] for line in lines if line["phase"] == "training"]
    assert steps == list(range(13))  # 0: about to start
    last = lines[-1]
    assert (last["step"], last["total"], last["loss"]) == (12, 12, result.final_loss)
    assert last["tokens_seen"] == result.tokens_seen and last["tokens_per_s"] > 0


def _train_examples(job):
    from ragtune.tasks.training.tokenizer import build_byte_tokenizer

    tok = build_byte_tokenizer()
    return load_chat_dataset(job.train_path, tok, job.config.max_seq_len).examples


def test_adapter_and_tokenizer_reload_generate_and_reproduce_the_eval_loss(trained):
    job, result = trained
    model, tok = load_trained(job.config, result.adapter_dir, device="cpu")

    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "What is the savings rate?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    inputs = tok(prompt, add_special_tokens=False, return_tensors="pt")
    out = model.generate(
        **inputs, max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id
    )
    assert out.shape[1] == inputs["input_ids"].shape[1] + 6 or tok.eos_token_id in out
    assert isinstance(tok.decode(out[0]), str)
    # The reloaded adapter is the trained one: it scores the eval set as training
    # did at its last step.
    examples = load_chat_dataset(job.eval_path, tok, job.config.max_seq_len).examples
    batch = collate(tuple((i,) for i in range(len(examples))), examples, 0, False)
    labels = batch.pop("labels")
    with torch.no_grad():
        sums, counts = token_loss_sums(model(**batch).logits, labels)
    assert float(sums.sum() / counts.sum()) == pytest.approx(result.eval_loss, 1e-4)
    assert result.tokenizer_dir == result.adapter_dir
    assert (result.adapter_dir / "adapter_config.json").is_file()
    assert not (result.adapter_dir / "model.safetensors").exists()  # unmerged


def test_mlflow_run_has_params_metrics_and_tags(trained, tracking_uri):
    job, result = trained
    client = MlflowClient(tracking_uri)
    run = client.get_run(result.mlflow_run_id)

    assert run.info.run_name == "tariffs" and run.info.status == "FINISHED"
    params = run.data.params
    assert params["lora_r"] == "8" and params["learning_rate"] == "0.01"
    assert params["tiny.vocab_size"] == "260" and params["train_examples"] == "32"
    tags = run.data.tags
    assert tags["dataset_hash"] == "md5-test-0001"
    assert (tags["base_model"], tags["revision"]) == ("tiny-llama", "none")
    losses = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in losses] == list(range(1, 13))
    card = json.loads(result.card_path.read_text())
    assert [m.value for m in losses] == pytest.approx(card["loss_curve"])
    for name in ("learning_rate", "tokens_per_s", "step_time_s", "grad_norm"):
        assert len(client.get_metric_history(run.info.run_id, name)) == 12
    assert run.data.metrics["eval_loss"] == pytest.approx(result.eval_loss)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"card.json", "card.md"} <= artifacts


def test_card_records_model_data_hyperparameters_hardware_and_cost(trained):
    job, result = trained
    card = json.loads(result.card_path.read_text())

    assert card["dataset_hash"] == "md5-test-0001" and card["revision"] is None
    assert card["base_model"].startswith("tiny-llama")
    assert card["hyperparameters"]["lora_r"] == 8
    assert card["hyperparameters"]["tiny"]["vocab_size"] == 260
    assert card["data"]["train_examples"] == 32 and card["data"]["eval_examples"] == 4
    assert card["hardware"]["device"] == "cpu" and card["hardware"]["torch"]
    assert card["steps"] == 12 and card["wall_time_s"] > 0
    hours = card["wall_time_s"] / 3600
    assert card["device_hours"] == pytest.approx(hours)
    # trained here, not through a backend's priced plan: no price is made up
    assert card["price_per_hour_usd"] is None and card["cost_usd"] is None
    assert "hardware already paid for" in (result.adapter_dir / "card.md").read_text()
    markdown = (result.adapter_dir / "card.md").read_text()
    assert "md5-test-0001" in markdown and "| 12 |" in markdown
    assert card["privacy"] is None


def test_checkpoints_are_pruned_to_the_last_k(trained):
    job, _ = trained
    steps = [step for step, _ in list_checkpoints(job.output_dir / "checkpoints")]
    assert steps == [8, 12]  # save_steps 4, save_total_limit 2


def test_finished_job_is_returned_not_retrained_and_never_overwritten(trained):
    job, result = trained
    again = train(job.model_copy(update={"resume": True}))
    assert again == result  # same run id: no second MLflow run, no training

    with pytest.raises(InputError, match="already holds a training run"):
        train(job)
    assert json.loads((job.output_dir / "result.json").read_text())["steps"] == 12


def _snapshot(model) -> dict[str, torch.Tensor]:
    state = {n: p.detach().clone() for n, p in model.named_parameters()}
    for name, module in model.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            state[f"{name}.absmax"] = module.weight.quant_state.absmax.clone()
    return state


@pytest.mark.parametrize("packing", [False, True], ids=["grouped", "packed"])
def test_fit_changes_lora_weights_only(tmp_path, data, packing):
    cfg = fast_qlora(max_steps=3, packing=packing, eval_steps=None)
    model = build_model(cfg, "cpu")
    from ragtune.tasks.training.tokenizer import build_byte_tokenizer

    examples = load_chat_dataset(data / "train.jsonl", build_byte_tokenizer(), 128)
    before = _snapshot(model)
    logged: list[tuple[int, dict]] = []

    class Sink:
        def log_metrics(self, metrics, step):
            logged.append((step, dict(metrics)))

    outcome = fit(model, FitData(examples.examples, [], 0), cfg, tmp_path, "fp",
                  sink=Sink())  # fmt: skip

    after = _snapshot(model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert {n for n in trainable if not torch.equal(before[n], after[n])} == trainable
    assert [
        n for n in set(before) - trainable if not torch.equal(before[n], after[n])
    ] == []
    assert [step for step, _ in logged] == [1, 2, 3] and outcome.state.step == 3
    # Packing fills rows with whole examples: the same 24 examples in fewer rows.
    assert outcome.state.tokens_seen > 0 and outcome.eval_loss is None


def _expect_refusal(job, error, match):
    with pytest.raises(error, match=match):
        train(job)
    assert not job.output_dir.exists()  # stopped before any weight or run


def test_bad_inputs_stop_before_training(tmp_path, data, tracking_uri):
    def job(name, **over):
        return make_job(tmp_path, data, tracking_uri, name, **over)

    missing = tmp_path / "no-such-model"
    _expect_refusal(
        job("a", config=fast_qlora(base_model=str(missing))),
        ConfigError,
        "does not exist",
    )
    _expect_refusal(
        job("b", config=fast_qlora(target_modules=("q_proj", "qkv"))),
        ConfigError,
        "qkv",
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    _expect_refusal(job("c", train_path=empty), InputError, "empty")
    _expect_refusal(job("d", train_path=tmp_path / "nope.jsonl"), InputError, "nope")
    small_vocab = fast_qlora(tiny={"vocab_size": 128})
    _expect_refusal(job("e", config=small_vocab), ConfigError, "vocab_size >= 260")
    _expect_refusal(
        job("f", config=fast_qlora(packing=True), dp=DPConfig()), ConfigError, "packing"
    )
    write_sft(tmp_path / "bad.jsonl", 2)
    with (tmp_path / "bad.jsonl").open("a") as handle:
        handle.write('{"messages": []}\n')
    _expect_refusal(job("g", train_path=tmp_path / "bad.jsonl"), InputError, "line 3")


def test_worker_entrypoint_exit_codes(trained, tmp_path):
    from ragtune.tasks.training.__main__ import main

    job, result = trained
    job_file, out = tmp_path / "job.json", tmp_path / "result.json"
    job_file.write_text(job.model_dump_json())
    # A finished job with --resume: the stored result, no training (exit 0).
    assert main(["--job", str(job_file), "--resume", "--result", str(out)]) == 0
    assert json.loads(out.read_text())["mlflow_run_id"] == result.mlflow_run_id
    job_file.write_text('{"config": {"lora_rank": 8}}')
    assert main(["--job", str(job_file)]) == 2  # bad input, named in the log
