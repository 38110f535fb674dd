"""inference.backends: the vLLM (CPU build) and transformers backends behind one interface."""

from __future__ import annotations

import os
import threading

import pytest

import mcq
from inference.backends import Generation, get_backend

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def conversations(sample_test):
    return [mcq.build_messages(q) for q in mcq.load_test(sample_test)[:6]]


@pytest.fixture(scope="module")
def vllm_backend(demo_grpo):
    return get_backend(demo_grpo, backend="vllm")


@pytest.fixture(scope="module")
def hf_backend(demo_base, demo_adapter):
    return get_backend(demo_base, adapter=demo_adapter, backend="transformers")


def test_get_backend_returns_the_cached_backend_however_the_path_is_spelled(
    vllm_backend, demo_grpo
):
    assert get_backend(os.path.relpath(demo_grpo), backend="vllm") is vllm_backend
    assert get_backend(str(demo_grpo) + "/", backend="vllm") is vllm_backend


def test_vllm_chat_returns_n_generations_per_conversation(vllm_backend, conversations):
    results = vllm_backend.chat(conversations[:2], temperature=1.0, max_new_tokens=16, n=3, seed=1)
    assert [len(r) for r in results] == [3, 3]
    assert all(isinstance(g, Generation) and 1 <= g.num_tokens <= 16 for r in results for g in r)


@pytest.mark.parametrize("kind", ["vllm", "transformers"])
def test_sampled_answer_depends_on_its_seed_not_on_the_batch(
    kind, vllm_backend, hf_backend, sample_test
):
    backend = vllm_backend if kind == "vllm" else hf_backend
    # 44 questions x 3 samples: more prompt tokens than one engine step takes.
    everything = [mcq.build_messages(q) for q in mcq.load_test(sample_test)]
    settings = {"temperature": 1.0, "max_new_tokens": 24, "n": 3}
    together = backend.chat(everything, seed=list(range(100, 144)), **settings)
    alone = backend.chat(everything[30:31], seed=[130], **settings)
    assert [g.text for g in alone[0]] == [g.text for g in together[30]]


@pytest.mark.parametrize("kind", ["vllm", "transformers"])
def test_a_top_p_small_enough_samples_only_the_likeliest_token(
    kind, vllm_backend, hf_backend, conversations
):
    backend = vllm_backend if kind == "vllm" else hf_backend
    greedy = backend.chat(conversations[:2], max_new_tokens=12)
    sampled = backend.chat(conversations[:2], temperature=1.0, max_new_tokens=12, seed=3)
    nucleus = backend.chat(
        conversations[:2], temperature=1.0, top_p=1e-6, max_new_tokens=12, seed=3
    )
    assert [g[0].text for g in sampled] != [g[0].text for g in greedy]  # sampling differs...
    assert [g[0].text for g in nucleus] == [g[0].text for g in greedy]  # ...unless top_p leaves one


@pytest.mark.parametrize("kind", ["vllm", "transformers"])
def test_ignore_eos_generates_exactly_max_new_tokens(kind, vllm_backend, hf_backend, conversations):
    backend = vllm_backend if kind == "vllm" else hf_backend
    results = backend.chat(conversations[:2], max_new_tokens=40, ignore_eos=True)
    assert [r[0].num_tokens for r in results] == [40, 40]


@pytest.mark.parametrize("kind", ["vllm", "transformers"])
def test_choose_returns_only_allowed_choices(kind, vllm_backend, hf_backend, conversations):
    backend = vllm_backend if kind == "vllm" else hf_backend
    assert set(backend.choose(conversations)) <= set(mcq.LETTERS)
    assert set(backend.choose(conversations, choices=("B", "D"))) <= {"B", "D"}


@pytest.mark.parametrize("kind", ["vllm", "transformers"])
def test_stream_grows_to_the_greedy_chat_answer(kind, vllm_backend, hf_backend, conversations):
    backend = vllm_backend if kind == "vllm" else hf_backend
    pieces = list(backend.stream_chat(conversations[0], max_new_tokens=32))
    expected = backend.chat(conversations[:1], max_new_tokens=32)[0][0].text
    assert len(pieces) > 1
    assert all(
        later.startswith(earlier) for earlier, later in zip(pieces, pieces[1:], strict=False)
    )
    assert pieces[-1].strip() == expected.strip()


def test_vllm_streams_run_concurrently_and_an_abandoned_one_frees_the_engine(
    vllm_backend, conversations
):
    expected = [g[0].text for g in vllm_backend.chat(conversations[:2], max_new_tokens=24)]
    finals: dict[int, str] = {}

    def consume(i: int) -> None:
        for text in vllm_backend.stream_chat(conversations[i], max_new_tokens=24):
            finals[i] = text

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [finals[0], finals[1]] == expected

    abandoned = vllm_backend.stream_chat(conversations[2], max_new_tokens=200)
    next(abandoned)
    abandoned.close()  # aborts the request
    assert vllm_backend.chat(conversations[:1], max_new_tokens=24)[0][0].text == expected[0]


def test_transformers_lora_flag_switches_the_adapter_off(hf_backend, conversations, demo_base):
    bare = get_backend(demo_base, backend="transformers")
    without = hf_backend.chat(conversations, max_new_tokens=24, lora=False)
    plain = bare.chat(conversations, max_new_tokens=24)
    assert [g[0].text for g in without] == [g[0].text for g in plain]


def test_vllm_lora_request_changes_answers_and_lora_false_turns_it_off(
    sample_test, demo_base, demo_adapter
):
    conversations = [mcq.build_messages(q) for q in mcq.load_test(sample_test)]
    with_adapter = get_backend(demo_base, adapter=demo_adapter, backend="vllm")
    tuned = [g[0].text for g in with_adapter.chat(conversations, max_new_tokens=48)]
    untuned = [g[0].text for g in with_adapter.chat(conversations, max_new_tokens=48, lora=False)]
    hf_base = get_backend(demo_base, backend="transformers")
    plain = [g[0].text for g in hf_base.chat(conversations, max_new_tokens=48)]
    assert tuned != untuned
    # Greedy answers of the bare base through vLLM and transformers agree on most questions
    # (bf16 vs float32 may flip a near tie); the adapter's answers do not.
    same_as_base = sum(a == b for a, b in zip(untuned, plain, strict=True))
    assert same_as_base > sum(a == b for a, b in zip(tuned, plain, strict=True))
