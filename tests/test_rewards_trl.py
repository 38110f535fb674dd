"""The TRL adapter drives a real GRPOTrainer (TRL 1.16) and TRL logs every component.

Everything is real and built here: a byte-level BPE tokenizer trained on a few Chinese
lines, a 2-layer Qwen2 (hidden 128, 2 heads, head_dim 64), two GRPO steps on the CPU.
"""

from __future__ import annotations

import pytest

import rewards
import rewards.trl

pytestmark = pytest.mark.slow

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
LINES = [
    "答案：A\n理由：首先，憲法增修條文規定總統任期四年，連選得連任一次。",
    "答案：B\n理由：其次，立法委員總額為一百一十三席，因此選B。",
    "這個議題可能存在不同觀點，需要權衡各方的利益。",
    "并非唯一的解释，不过在一定程度上说得通。",
    "Answer: C because the options differ in scope.",
]


def _tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(LINES * 4, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def _tiny_model(tokenizer):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    assert config.hidden_size // config.num_attention_heads == 64
    return Qwen2ForCausalLM(config)


def _dataset():
    from datasets import Dataset

    rows = []
    for i, (question, gold) in enumerate(
        [
            ("總統任期幾年？", "A"),
            ("立委總額多少席？", "B"),
            ("何者正確？", "C"),
            ("何者錯誤？", "D"),
        ]
    ):
        rows.append(
            {
                "prompt": [{"role": "user", "content": f"{question}\nA. 一\nB. 二\nC. 三\nD. 四"}],
                "correct_answer": gold,
                "id": f"q{i}",
                "question": question,
                "option_A": "一",
                "option_B": "二",
                "option_C": "三",
                "option_D": "四",
            }
        )
    return Dataset.from_list(rows)


def test_grpo_trainer_logs_every_default_component_mean(tmp_path):
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = _tiny_tokenizer()
    funcs = rewards.trl.reward_funcs("default")
    weights = rewards.trl.reward_weights("default")
    args = GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=16,
        max_steps=2,
        logging_steps=1,
        learning_rate=1e-4,
        report_to="none",
        save_strategy="no",
        reward_weights=weights,
        seed=0,
        bf16=False,
    )
    trainer = GRPOTrainer(
        model=_tiny_model(tokenizer),
        processing_class=tokenizer,
        reward_funcs=funcs,
        args=args,
        train_dataset=_dataset(),
    )
    trainer.train()

    logged = {key for entry in trainer.state.log_history for key in entry}
    expected = {f"rewards/{name}/mean" for name in rewards.load_preset("default").weights}
    assert expected <= logged, f"missing: {sorted(expected - logged)}"
    assert trainer.state.global_step == 2


def test_reward_funcs_are_named_after_components_in_preset_order():
    funcs = rewards.trl.reward_funcs("default")
    assert [f.__name__ for f in funcs] == list(rewards.load_preset("default").weights)
    assert rewards.trl.reward_weights("default") == [0.4, 0.2, 0.2, 0.2]


def test_reward_func_reads_conversational_completions_and_dataset_columns():
    correctness = rewards.trl.RewardFunction("correctness")
    completions = [
        [{"role": "assistant", "content": "答案：B\n理由：……"}],
        [{"role": "assistant", "content": "答案：C"}],
        [{"role": "assistant", "content": "答案：C"}],
    ]
    out = correctness(prompts=[[]] * 3, completions=completions, correct_answer=["B", "B", None])
    assert out == [1.0, 0.0, None]


def test_module_level_reward_funcs_resolve_by_dotted_path_like_trl_does():
    import importlib

    module = importlib.import_module("rewards.trl")
    for name in ("correctness", "format", "reasoning", "neutrality", "seed"):
        func = getattr(module, name)
        assert func.__name__ == name
        assert len(func(prompts=["p"], completions=["答案：A"])) == 1
