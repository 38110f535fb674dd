"""Learned reward models as registry components, and the factory/batch mechanism under them.

The reward model here is conftest's ``demo_classifier``, demo-base saved as a one-output
classifier: its head is untrained, which is all these tests need (shapes, ranges, batching,
laziness);
tests/test_training_rm.py trains a real one and scores with it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import mcq
import rewards
import rewards.trl
from mcq.paths import DEMO_BASE, REPO_ROOT
from rewards.registry import FACTORIES, Component, Sample, component_factory

QUESTION = "依現行中華民國憲法增修條文，總統、副總統的任期為何？"
OPTIONS = {"A": "四年", "B": "六年", "C": "五年", "D": "三年"}
ANSWERS = [
    "答案：A\n理由：憲法增修條文規定任期四年，連選得連任一次。",
    "答案：B",
    "答案：C\n理由：絕對是五年，其他說法都錯。",
    "我不知道。",
    "答案：A\n理由：" + "一方面" * 40,
]


def write_preset(folder, name="rm", **settings):
    settings = {"reward_model": str(DEMO_BASE), "dtype": "float32", **settings}
    body = "\n".join(f"    {key}: {value}" for key, value in settings.items())
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ncomponents:\n  {name}: 0.5\n  correctness: 0.5\n"
        f"settings:\n  {name}:\n{body}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def preset(tmp_path_factory, demo_classifier):
    folder = tmp_path_factory.mktemp("presets")
    return rewards.load_preset(
        write_preset(folder, reward_model=str(demo_classifier), batch_size=2)
    )


def test_reward_funcs_give_one_unit_score_per_completion(preset):
    funcs = rewards.trl.reward_funcs(preset)
    assert [f.__name__ for f in funcs] == ["rm", "correctness"]
    n = len(ANSWERS)
    scores = funcs[0](
        prompts=["?"] * n,
        completions=[[{"role": "assistant", "content": a}] for a in ANSWERS],
        question=[QUESTION] * n,
        **{f"option_{k}": [v] * n for k, v in OPTIONS.items()},
    )
    assert len(scores) == n
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)


def test_reward_function_survives_pickling(preset):
    # TRL may hand reward functions to other processes; the component is rebuilt from settings.
    import pickle

    f = pickle.loads(pickle.dumps(rewards.trl.reward_funcs(preset)[0]))
    assert f.__name__ == "rm"
    assert 0.0 <= f(prompts=["?"], completions=[ANSWERS[0]])[0] <= 1.0


def test_batched_scores_match_one_at_a_time(preset):
    samples = [Sample(question=QUESTION, options=OPTIONS)] * len(ANSWERS)
    together = [b.components["rm"] for b in rewards.scoring.score_batch(ANSWERS, samples, preset)]
    alone = [
        rewards.score(a, s, preset).components["rm"] for a, s in zip(ANSWERS, samples, strict=True)
    ]
    assert together == pytest.approx(alone, abs=1e-4)
    assert len(set(together)) > 1  # the texts differ, so do their scores


def test_loading_a_reward_model_preset_does_not_import_torch(tmp_path):
    # Scoring imports it (the tests above); building the component must not.
    path = write_preset(tmp_path)
    code = (
        "import sys, rewards, rewards.trl\n"
        f"p = rewards.load_preset({str(path)!r}); f = rewards.trl.reward_funcs(p)\n"
        "rewards.score('答案：A', None, 'default')\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules), f[0].__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[] rm"


def test_missing_reward_model_folder_is_one_line_error(tmp_path):
    path = write_preset(tmp_path, reward_model=str(tmp_path / "no-such-model"))
    with pytest.raises(mcq.DataError, match="folder not found") as err:
        rewards.load_preset(path)
    assert "\n" not in str(err.value)


def test_rewards_score_exits_2_for_a_missing_reward_model(tmp_path, capsys):
    from rewards.cli import main

    path = write_preset(tmp_path, reward_model="./missing-rm")
    data = tmp_path / "c.jsonl"
    data.write_text('{"id": "1", "completion": "答案：A"}\n', encoding="utf-8")
    assert main(["score", "--input", str(data), "--preset", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing-rm" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"temperature": -1}, "temperature"),
        ({"device_map": "auto"}, "unknown settings"),
        ({"dtype": "int3"}, "dtype"),
        ({"workers": 0}, "workers"),
    ],
)
def test_bad_reward_model_settings_are_refused(tmp_path, settings, message):
    with pytest.raises(mcq.DataError, match=message):
        rewards.load_preset(write_preset(tmp_path, **settings))


def test_a_builtin_name_cannot_become_a_reward_model(tmp_path):
    with pytest.raises(mcq.DataError, match="already a registered component"):
        rewards.load_preset(write_preset(tmp_path, name="format"))


def test_reward_model_path_is_relative_to_the_preset(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "rm").symlink_to(DEMO_BASE, target_is_directory=True)
    preset = rewards.load_preset(write_preset(tmp_path, reward_model="models/rm"))
    assert preset.settings["rm"]["reward_model"] == str((tmp_path / "models" / "rm").resolve())


def test_factory_components_receive_the_whole_batch(tmp_path):
    calls = []

    def lengths(completions, samples, **settings):
        calls.append(len(completions))
        return [min(1.0, len(c) / settings["scale"]) for c in completions]

    @component_factory("length_scale")
    def make(name, settings):
        return Component(
            name, "length", lambda c, s, **kw: lengths([c], [s], **kw)[0], batch=lengths
        )

    try:
        preset = rewards.Preset("p", "", {"long": 1.0}, {"long": {"length_scale": 1, "scale": 10}})
        found = rewards.scoring.score_batch(["a" * 5, "b" * 20, "c"], None, preset)
        assert [b.components["long"] for b in found] == [0.5, 1.0, 0.1]
        assert calls == [3]
    finally:
        FACTORIES.pop("length_scale", None)
