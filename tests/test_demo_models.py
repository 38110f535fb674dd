"""The committed demo models in assets/models/: they load, tokenize, chat and answer.

Fast checks of the artifacts only; the full rebuild (`python -m training demo`, ~15 min) is
never run here.
"""

from __future__ import annotations

import json
import re

import pytest

import mcq
from mcq.cli import run_command
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


def test_models_total_size_is_under_40_mb():
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
    for text in (
        "立法院院長如何產生？答案：B\n理由：持平考量不同觀点。",
        "简体中文也能编码 ABC 123",
        "㐀𠀀 emoji 🙂",
    ):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text


#: Civic text of the kind real exams use, with characters the sample data never shows
#: (覈, 釐, 齟齬, 鬩, 耄耋, 邕, 黔, 侗, 饕餮, 觊觎, 帑 ...), in both scripts.
RARE_TRADITIONAL = (
    "憲法增修條文規定，國家應依民族意願，保障原住民族之地位及政治參與。立法院審議預算時，應覈實"
    "刪減，釐清爭議，避免朝野齟齬、兄弟鬩牆；耄耋長者的羈旅之苦，亦不應被漠視。"
)
RARE_SIMPLIFIED = (
    "全国人民代表大会常务委员会依照宪法审议有关决定；黔东南苗族侗族自治州、邕江沿岸的壮族村寨亦"
    "参与基层协商，罄竹难书的旧弊应予纠正，饕餮之徒不得觊觎公帑。"
)


@pytest.mark.parametrize(
    "text", [RARE_TRADITIONAL, RARE_SIMPLIFIED], ids=["traditional", "simplified"]
)
def test_tokenizer_spells_every_exam_character_as_one_token(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    pieces = [tokenizer.decode([i]) for i in ids]
    assert "".join(pieces) == text
    assert not [p for p in pieces if "\ufffd" in p]  # no token holds part of a character's bytes
    assert not [c for c in text if len(tokenizer(c, add_special_tokens=False)["input_ids"]) != 1]


def test_models_and_tokenizer_have_a_4096_token_context(tokenizer, base_model, merged_model):
    assert base_model.config.max_position_embeddings >= 4096
    assert merged_model.config.max_position_embeddings >= 4096
    assert tokenizer.model_max_length >= 4096


def test_tokenizer_gives_the_same_ids_through_transformers_and_tokenizers(tokenizer):
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(BASE / "tokenizer.json"))
    text = "問題：2008年第七屆起，立法委員總額為多少席？\nA. 225席 B. 113席 it's OK"
    assert (
        tokenizer(text, add_special_tokens=False)["input_ids"]
        == raw.encode(text, add_special_tokens=False).ids
    )


def test_chat_template_renders_chatml_with_generation_prompt(tokenizer, question):
    text = mcq.render_prompt(question, tokenizer)
    assert text.startswith("<|im_start|>system\n" + mcq.SYSTEM_PROMPT + "<|im_end|>\n")
    assert "<|im_start|>user\n" + mcq.format_question(question) + "<|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") != tokenizer.unk_token_id


def _greedy_answer(model, tokenizer, question, torch, max_new_tokens=40) -> str:
    enc = tokenizer(
        mcq.render_prompt(question, tokenizer), return_tensors="pt", add_special_tokens=False
    )
    with torch.no_grad():
        out = model.generate(
            **enc,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)


def test_grpo_greedy_answer_opens_with_the_answer_line(tokenizer, merged_model, question, torch):
    answer = _greedy_answer(merged_model, tokenizer, question, torch)
    assert re.match(r"答案：[A-D]\n", answer), answer


def test_base_greedy_answer_is_chinese_text(tokenizer, base_model, question, torch):
    answer = _greedy_answer(base_model, tokenizer, question, torch)
    assert sum("\u4e00" <= c <= "\u9fff" for c in answer) >= 10


def test_adapter_targets_the_demo_base_architecture(base_model):
    config = json.loads((ADAPTER / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["peft_type"] == "LORA"
    assert 8 <= config["r"] <= 16
    assert (demo.REPO_ROOT / config["base_model_name_or_path"]).resolve() == BASE.resolve()
    module_names = {name.rsplit(".", 1)[-1] for name, _ in base_model.named_modules()}
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert set(config["target_modules"]) <= module_names


def test_merged_model_equals_base_plus_adapter(
    base_model, merged_model, tokenizer, question, torch
):
    import copy

    from peft import PeftModel

    with_adapter = PeftModel.from_pretrained(copy.deepcopy(base_model), str(ADAPTER)).eval()
    enc = tokenizer(
        mcq.render_prompt(question, tokenizer), return_tensors="pt", add_special_tokens=False
    )
    with torch.no_grad():
        expected = with_adapter(**enc).logits[0, -1]
        merged = merged_model(**enc).logits[0, -1]
        base = base_model(**enc).logits[0, -1]
    assert (merged - base).abs().max() > 1e-3  # the adapter changed something
    assert torch.allclose(merged, expected, atol=0.05 * float(expected.abs().max()))


def test_demo_cli_rejects_a_missing_data_file_with_exit_code_2(tmp_path, capsys):
    args = demo.make_parser().parse_args(
        ["--output-dir", str(tmp_path / "out"), "--train", str(tmp_path / "nope.tsv")]
    )
    code = run_command(demo.main, args, prog="python -m training demo")
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "nope.tsv" in err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def build_report() -> dict:
    return json.loads((MODELS / "build-report.json").read_text(encoding="utf-8"))


def test_build_report_shows_grpo_beating_base_on_sampled_reward_and_extractable_share(build_report):
    base, tuned = build_report["scores"][demo.BASE_DIR], build_report["scores"][demo.MERGED_DIR]
    assert tuned["completions"] == base["completions"] > 0
    assert tuned["mean_total"] - base["mean_total"] >= 0.05
    assert tuned["extractable"] > base["extractable"]


def test_build_report_shows_a_greedy_gain_whose_paired_interval_is_above_zero(build_report):
    base, tuned = (
        build_report["greedy_scores"][demo.BASE_DIR],
        build_report["greedy_scores"][demo.MERGED_DIR],
    )
    gain = build_report["greedy_gain"]
    assert len(base["totals"]) == len(tuned["totals"]) == gain["questions"] == 44
    assert gain["difference"] == pytest.approx(tuned["mean_total"] - base["mean_total"], abs=1e-6)
    assert 0 < gain["ci_low"] <= gain["difference"] <= gain["ci_high"]


def test_readme_states_the_build_command_and_both_gains(build_report):
    readme = (MODELS / "README.md").read_text(encoding="utf-8")
    assert build_report["command"] in readme
    for scores in (build_report["scores"], build_report["greedy_scores"]):
        assert all(f"{s['mean_total']:.3f}" in readme for s in scores.values())
    gain = build_report["greedy_gain"]
    assert f"{gain['difference']:+.3f}" in readme and f"{gain['ci_low']:+.3f}" in readme
