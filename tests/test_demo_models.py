"""The committed demo models in assets/models/: they load, tokenize, chat and answer.

Fast checks of the artifacts only; the full rebuild (`python -m training demo`, ~10 min) is
never run here.
"""

from __future__ import annotations

import json

import pytest

import mcq
from training import demo

MODELS = demo.DEFAULT_OUT
BASE = MODELS / demo.BASE_DIR
ADAPTER = MODELS / demo.ADAPTER_DIR
MERGED = MODELS / demo.MERGED_DIR
TEST_FILE = demo.DATA_DIR / "sample_test.tsv"


@pytest.fixture(scope="module")
def torch():
    import torch

    torch.set_num_threads(2)
    return torch


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(BASE)


@pytest.fixture(scope="module")
def base_model(torch):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def merged_model(torch):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(MERGED, dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def question() -> mcq.Question:
    return mcq.load_test(TEST_FILE)[0]


def test_models_total_size_is_under_30_mb():
    sizes = {p.name: demo.dir_size_bytes(p) for p in (BASE, ADAPTER, MERGED)}
    assert all(size > 0 for size in sizes.values()), sizes
    assert sum(sizes.values()) < demo.SIZE_LIMIT_BYTES, sizes


def test_models_are_tiny_qwen2_with_head_dim_64_in_safetensors(base_model, merged_model):
    for model, folder in ((base_model, BASE), (merged_model, MERGED)):
        cfg = model.config
        assert cfg.model_type == "qwen2"
        assert cfg.hidden_size // cfg.num_attention_heads == 64  # vLLM's CPU attention needs it
        assert (folder / "model.safetensors").is_file()
        assert not list(folder.glob("*.bin"))


def test_tokenizer_round_trips_traditional_and_simplified_chinese(tokenizer):
    for text in ("立法院院長如何產生？答案：B\n理由：持平考量不同觀点。", "简体中文也能编码 ABC 123", "㐀𠀀 emoji 🙂"):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text


def test_tokenizer_gives_the_same_ids_through_transformers_and_tokenizers(tokenizer):
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(BASE / "tokenizer.json"))
    text = "問題：2008年第七屆起，立法委員總額為多少席？\nA. 225席 B. 113席 it's OK"
    assert tokenizer(text, add_special_tokens=False)["input_ids"] == raw.encode(text, add_special_tokens=False).ids


def test_chat_template_renders_chatml_with_generation_prompt(tokenizer, question):
    text = mcq.render_prompt(question, tokenizer)
    assert text.startswith("<|im_start|>system\n" + mcq.SYSTEM_PROMPT + "<|im_end|>\n")
    assert "<|im_start|>user\n" + mcq.format_question(question) + "<|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") != tokenizer.unk_token_id


@pytest.mark.parametrize("which", ["base", "merged"])
def test_greedy_answer_to_a_sample_question_has_the_answer_marker(
    which, tokenizer, base_model, merged_model, question, torch
):
    model = base_model if which == "base" else merged_model
    enc = tokenizer(mcq.render_prompt(question, tokenizer), return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, do_sample=False, max_new_tokens=40, pad_token_id=tokenizer.pad_token_id)
    answer = tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "答案：" in answer
    assert mcq.extract_answer(answer)[0] in mcq.LETTERS


def test_adapter_targets_the_demo_base_architecture(base_model):
    config = json.loads((ADAPTER / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["peft_type"] == "LORA"
    assert 8 <= config["r"] <= 16
    assert (demo.REPO_ROOT / config["base_model_name_or_path"]).resolve() == BASE.resolve()
    module_names = {name.rsplit(".", 1)[-1] for name, _ in base_model.named_modules()}
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert set(config["target_modules"]) <= module_names


def test_merged_model_equals_base_plus_adapter(base_model, merged_model, tokenizer, question, torch):
    import copy

    from peft import PeftModel

    with_adapter = PeftModel.from_pretrained(copy.deepcopy(base_model), str(ADAPTER)).eval()
    enc = tokenizer(mcq.render_prompt(question, tokenizer), return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        expected = with_adapter(**enc).logits[0, -1]
        merged = merged_model(**enc).logits[0, -1]
        base = base_model(**enc).logits[0, -1]
    assert (merged - base).abs().max() > 1e-3  # the adapter changed something
    assert torch.allclose(merged, expected, atol=0.05 * float(expected.abs().max()))


def test_demo_cli_rejects_a_missing_data_file_with_exit_code_2(tmp_path, capsys):
    code = demo.main(["--out", str(tmp_path / "out"), "--train", str(tmp_path / "nope.tsv")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "nope.tsv" in err
    assert not (tmp_path / "out").exists()


def test_build_report_shows_grpo_beating_base_on_reward_and_extractable_share():
    report = json.loads((MODELS / "build-report.json").read_text(encoding="utf-8"))
    base, tuned = report["scores"][demo.BASE_DIR], report["scores"][demo.MERGED_DIR]
    assert tuned["completions"] == base["completions"] > 0
    assert tuned["mean_total"] - base["mean_total"] >= 0.05
    assert tuned["extractable"] > base["extractable"]
    readme = (MODELS / "README.md").read_text(encoding="utf-8")
    assert report["command"] in readme
    assert f"{tuned['mean_total']:.3f}" in readme and f"{base['mean_total']:.3f}" in readme
