"""assets/models/README.md, written from the build report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from training.demo.settings import (
    ADAPTER_DIR,
    BASE_DIR,
    MERGED_DIR,
    SIZE_LIMIT_BYTES,
    repo_relative,
)
from training.demo.warmup import STYLE_MIX


def render_readme(report: Mapping[str, Any], out: Path) -> str:
    """The assets/models/README.md text: what the models are, how they were built, how they score."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(out / BASE_DIR)
    params = _count_params(out / BASE_DIR)
    s = report["settings"]
    t = report["timings"]
    lines = [
        "# Embedded demo models",
        "",
        "Tiny models that let the app, the tests and the inference paths run instantly on a CPU",
        "without downloading anything. They are toys: they learned the answer *format* and some",
        "vocabulary from 132 sample questions, not facts. Rebuild them from the repository alone:",
        "",
        "```",
        report["command"].strip(),
        "```",
        "",
        "| folder | what |",
        "|---|---|",
        f"| `{BASE_DIR}/` | byte-level BPE tokenizer + tiny Qwen2 after a short supervised pass |",
        f"| `{ADAPTER_DIR}/` | PEFT LoRA adapter from GRPO on top of `{BASE_DIR}` (`default` rewards) |",
        f"| `{MERGED_DIR}/` | the adapter merged into `{BASE_DIR}` (for vLLM without LoRA) |",
        "",
        "## Model",
        "",
        f"- `Qwen2ForCausalLM`: hidden {config.hidden_size}, {config.num_hidden_layers} layers, "
        f"{config.num_attention_heads} attention heads / {config.num_key_value_heads} KV heads "
        f"(head_dim {config.hidden_size // config.num_attention_heads}, which vLLM's CPU attention "
        f"needs), MLP {config.intermediate_size}, tied embeddings, context "
        f"{config.max_position_embeddings} tokens, {params / 1e6:.2f}M parameters, stored in "
        f"{str(config.dtype).removeprefix('torch.')}.",
        f"- Tokenizer: byte-level BPE, {report['vocab_size']} tokens. Every one of "
        f"{report['characters']} characters is a single token: all characters of jieba's "
        "dictionary (`jieba/dict.txt`), their Traditional forms through OpenCC (`s2t`, `s2tw`), "
        "and every character of the sample data and the prompt texts, so real Traditional or "
        "Simplified exam text does not fall back to bytes (anything else still encodes, as "
        f"bytes). On top of them, {s['tokenizer_merges']} merges learned from the sample training "
        "data, the prompts and the lexicons (each also in Simplified Chinese). Qwen2's "
        "pre-tokenizer; ChatML template (`<|im_start|>` / `<|im_end|>`, eos `<|im_end|>`, "
        "pad `<|endoftext|>`).",
        f"- Supervised warm-up: {s['sft_steps']} AdamW steps, batch {s['sft_batch_size']}, lr "
        f"{s['sft_lr']} (cosine), on `mcq.build_messages` prompts; loss "
        f"{report['sft_loss'][0]:.2f} → {report['sft_loss'][1]:.2f}. The targets mix three answer "
        "styles of the same reference reasoning ("
        + ", ".join(f"{name} ×{copies}" for name, copies in STYLE_MIX)
        + "): `答案：X\\n理由：...` as the prompt asks; the reasoning alone, ending in "
        "`因此正確答案為X`; and the reasoning ending in the option's wording instead of its "
        "letter. The requested format is the minority, so `demo-base`'s most likely answer "
        "(what greedy decoding shows a user) is not in it, and GRPO has a real job: move the "
        "model's usual answer to the format and the single letter the rewards ask for.",
        f"- GRPO: `python -m training grpo --config {repo_relative(Path(s['config']))}` code path "
        "(TRL GRPOTrainer, LoRA on q/k/v/o), `default` rewards preset"
        + f", {report['grpo_steps']} steps"
        + (f" (overrides: `{' '.join(s['grpo_overrides'])}`)" if s["grpo_overrides"] else "")
        + "; LoRA and trainer settings are in the recipe.",
        "",
        "Why not simply stop the warm-up early so the format is shaky? Tried: after 40 "
        "supervised steps the model babbles, and GRPO on top of it learned to repeat `答案：` "
        "markers until some letter could be extracted: a better score and a worse model.",
        "",
        "## Using them",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        f'model = AutoModelForCausalLM.from_pretrained("assets/models/{MERGED_DIR}")',
        f'tokenizer = AutoTokenizer.from_pretrained("assets/models/{MERGED_DIR}")',
        "",
        '# vLLM\'s CPU build (inside `if __name__ == "__main__":`); base + LoRA works too:',
        "from vllm import LLM",
        "from vllm.lora.request import LoRARequest",
        f'llm = LLM("assets/models/{BASE_DIR}", max_model_len={config.max_position_embeddings}, '
        "kv_cache_memory_bytes=512 << 20,",
        "          enable_lora=True, max_lora_rank=16)",
        f'lora = LoRARequest("grpo", 1, "assets/models/{ADAPTER_DIR}")',
        "```",
        "",
        "On a CPU, vLLM sizes its KV cache as `gpu_memory_utilization` x the NUMA node's memory",
        "minus the RSS of the process; with 0.05 that came out negative on the build machine,",
        "so give `kv_cache_memory_bytes` (as `inference.backends` does) or a larger share.",
        "",
        "## Sizes",
        "",
    ]
    for name, size in report["sizes"].items():
        lines.append(f"- `{name}/`: {size / 2**20:.2f} MiB")
    lines.append(
        f"- total: {report['total_size'] / 2**20:.2f} MiB ({report['total_size'] / 1e6:.1f} MB; "
        f"limit {SIZE_LIMIT_BYTES / 1e6:.0f} MB)"
    )
    lines += [
        "",
        "## Held-out evaluation",
        "",
        "On the 44 `assets/data/sample_test.tsv` questions (gold in `sample_test_gold.csv`, never "
        "trained on), `inference`'s transformers backend, both models with the same prompts, settings "
        "and per-question seeds; "
        'scores from `rewards.score(completion, Sample.from_question(q), preset="default")`.',
        "",
        f"**Greedy** (what a user sees; as `python -m evals demo-report`): one answer per "
        f"question, max {s['greedy_max_new_tokens']} new tokens.",
        "",
    ]
    lines += _score_table(report["greedy_scores"])
    gain = report.get("greedy_gain")
    if gain:
        lines += [
            "",
            f"GRPO gain in greedy mean `default` total: **{gain['difference']:+.3f}** (paired "
            f"bootstrap 95% interval {gain['ci_low']:+.3f} to {gain['ci_high']:+.3f}, "
            f"{gain['resamples']} resamples of the {gain['questions']} questions, seed "
            f"{gain['seed']}); `demo-grpo` scores higher on {gain['tuned_higher']} questions, "
            f"`demo-base` on {gain['base_higher']}.",
        ]
    lines += [
        "",
        f"**Sampled** (as GRPO sees answers): {s['eval_samples']} samples per question, "
        f"temperature {s['eval_temperature']}, top-p 1, max {s['eval_max_new_tokens']} new "
        f"tokens, seed {s['seed']} (+ batch index).",
        "",
    ]
    lines += _score_table(report["scores"])
    scores = report["scores"]
    if BASE_DIR in scores and MERGED_DIR in scores:
        sampled = scores[MERGED_DIR]["mean_total"] - scores[BASE_DIR]["mean_total"]
        lines += ["", f"GRPO gain in sampled mean `default` total: {sampled:+.3f}."]
    lines += [
        "",
        f"Accuracy stays near chance (25%): a {params / 1e6:.0f}M-parameter model cannot learn "
        "civics from 132 questions, and with a correctness signal that is mostly noise GRPO "
        "tends to settle on one favourite letter (`python -m evals demo-report` flags the skew). "
        "What GRPO improves is what the rewards check beyond correctness: an answer letter that "
        "can be read, given first, once, with a reason after it.",
        "",
        "## Build time",
        "",
        f"Measured on {report['machine']} (shared with other jobs): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in t.items() if k != "total")
        + f"; total {t['total'] / 60:.1f} min.",
        "",
        "## Example completions",
        "",
        "The greedy answer of each model to the first three test questions:",
        "",
    ]
    for name, v in report["greedy_scores"].items():
        lines.append(f"`{name}`:")
        lines.append("")
        for ex in v["examples"]:
            lines += ["```", ex.strip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _score_table(scores: Mapping[str, Mapping[str, Any]]) -> list[str]:
    comps = sorted({c for v in scores.values() for c in v["components"]})
    lines = [
        "| model | mean total | extractable letter | accuracy | "
        + " | ".join(comps)
        + " | new tokens |"
    ]
    lines.append("|---" * (5 + len(comps)) + "|")
    for name, v in scores.items():
        cells = [
            f"{v['components'][c]:.3f}" if v["components"].get(c) is not None else "–"
            for c in comps
        ]
        lines.append(
            f"| `{name}` | {v['mean_total']:.3f} | {v['extractable']:.1%} | {v['accuracy']:.1%} | "
            + " | ".join(cells)
            + f" | {v['mean_new_tokens']:.1f} |"
        )
    return lines


def _count_params(path: Path) -> int:
    from safetensors import safe_open

    total = 0
    with safe_open(str(Path(path) / "model.safetensors"), framework="pt") as fh:
        for key in fh.keys():  # noqa: SIM118 - safe_open has no __iter__
            total += math.prod(fh.get_slice(key).get_shape())
    return total
