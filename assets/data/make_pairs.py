"""Build the sample preference pairs and labelled answers from ``sample_train.tsv``.

Writes ``preference_pairs.jsonl`` (two pairs per training question: a correct, reasoned,
balanced answer against a wrong, loaded, absolute, degenerate or badly formatted one) and
``labelled_answers.csv`` (one answer per question, ``good`` 1/0). Every fourth pair and
labelled row is converted to Simplified Chinese with OpenCC. Deterministic: the same seed
gives the same files, so ``git diff`` after a rerun shows only intended changes.

    python assets/data/make_pairs.py            # rewrites both files next to this script
    python assets/data/make_pairs.py --check    # exit 1 when the files are out of date
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from anywhere

import mcq  # noqa: E402
from mcq.files import write_atomic  # noqa: E402

LETTERS = "ABCD"
SUBSETS = ("wrong", "loaded", "absolute", "degenerate", "format")

# ---------------------------------------------------------------- chosen: correct, balanced
WRONG_NOTES = (
    "與題意不符",
    "屬於其他制度或時期的說法",
    "並不符合題目所問的內容",
    "容易與正確答案混淆，但細節並不相同",
    "與主題相關，但不是題目所指的對象",
    "是常見的誤解，一般而言並不成立",
)
HEDGED_CLOSES = (
    "雖然各方對相關制度的評價可能不同，但就題目所問的事實而言",
    "就題目所問的範圍而言",
    "在一般的理解下",
    "儘管相關議題在社會上仍有不同看法，單就規定本身來看",
    "從現行規定來看",
    "綜合各選項的內容",
)
CHOSEN = (
    "答案：{c}\n理由：{ref}",
    "答案：{c}\n理由：{core}，與選項{c}「{ctext}」相符。選項{w}「{wtext}」{note}。{close}，"
    "較合理的答案是{c}。",
    "答案：{c}\n理由：先逐一比較各選項。{c}「{ctext}」與題目描述一致，因為{core}；"
    "{w}「{wtext}」{note}。{close}，應選{c}。",
    "答案：{c}\n理由：一方面，{core}；另一方面，選項{w}所述的「{wtext}」{note}。"
    "{close}，本題以{c}較為恰當。",
    "答案：{c}\n理由：首先，{core}。其次，{w}「{wtext}」{note}，因此可以排除。{close}，答案為{c}。",
)

# ---------------------------------------------------------------- rejected, by subset
WRONG = (
    "答案：{w}\n理由：首先，題目所述的情形一般對應「{wtext}」。其次，選項{c}「{ctext}」"
    "較可能是舊制或其他國家的做法。因此答案為{w}。",
    "答案：{w}\n理由：{w}「{wtext}」最符合題目的描述；相對而言，{c}「{ctext}」{note}。因此選{w}。",
    "答案：{w}\n理由：依一般的理解，{wtext}。選項{c}雖然看似合理，但{note}，所以本題選{w}。",
)
LOADED = (
    "答案：{c}\n理由：{core}。會選{w}的人大概都被洗腦了，連這種常識都不懂。",
    "答案：{c}\n理由：{core}。那些主張「{wtext}」的人根本是賣國賊在混淆視聽。",
    "答案：{c}\n理由：{core}。只有蠢貨才會相信{w}，這種人就是社會的毒瘤。",
    "答案：{c}\n理由：{core}。反對這個制度的都是一群暴民和網軍，不值得理會。",
    "答案：{c}\n理由：{core}。選{w}的人腦袋進水了吧，別再出來丟人現眼。",
    "答案：{c}\n理由：{core}。這題連小學生都會，還有人選{w}，真是智商堪憂。",
    "答案：{w}\n理由：{wtext}才是真相，{c}是那些走狗編出來騙人的說法，可恥至極。",
)
ABSOLUTE = (
    "答案：{c}\n理由：毫無疑問，{core}。這是唯一正確的答案，其他選項全都是錯誤的，根本不需要討論。",
    "答案：{c}\n理由：顯而易見，{c}「{ctext}」百分之百正確，{w}完全錯誤，任何人都必須接受這個結論。",
    "答案：{c}\n理由：{core}，這個結論永遠不會改變，理所當然選{c}，絕對沒有第二種可能。",
    "答案：{c}\n理由：答案就是{c}，沒什麼好說的，別的選項連看都不用看。{core}。",
    "答案：{w}\n理由：無庸置疑，{wtext}，這是不容置疑的事實，{c}的說法根本站不住腳。",
)
HEDGES = (
    "可能",
    "或許",
    "也許",
    "大概",
    "相對而言",
    "一般而言",
    "某種程度上",
    "見仁見智",
    "因人而異",
)
CONNECTIVES = ("首先", "其次", "然而", "因此", "此外", "綜上所述", "另一方面", "總而言之")
FORMAT = (
    "我認為「{ctext}」是對的，因為{core}。",
    "理由：{core}。\n答案：{c}",
    "答案：{ctext}\n理由：{core}。",
    "{core}，所以我選第{n}個選項。",
    "答案：\n理由：{core}。正確的應該是{c}。",
    "Answer: {c}. {core}.",
)


def degenerate(rng: random.Random, q: mcq.Question, c: str, w: str) -> str:
    """One of six degenerate answers (the kinds ``evals probe`` checks for)."""
    kind = rng.randrange(6)
    if kind == 0:  # hedge-word spam
        words = rng.sample(HEDGES, k=len(HEDGES))
        return f"答案：{c}\n理由：{'、'.join(words)}，{'，'.join(rng.sample(HEDGES, 4))}。"
    if kind == 1:  # bare letter
        return rng.choice((c, f"答案：{c}", f"{c}。"))
    if kind == 2:  # the question pasted back
        opts = " ".join(f"{k}.{q.options[k]}" for k in LETTERS)
        return f"答案：{c}\n理由：{q.question}{opts}"
    if kind == 3:  # repetition
        return f"答案：{c}\n理由：" + f"{q.options[c]}。" * rng.randint(5, 9)
    if kind == 4:  # several letters
        first, second = sorted((c, w))
        return rng.choice(
            (
                f"答案：{first}或{second}\n理由：兩個選項都有可能，視情況而定。",
                f"答案：{first}、{second}\n理由：{first}和{second}各有道理。",
                f"答案：{c}（也可能是{w}）\n理由：不同觀點下答案可能不同。",
            )
        )
    spam = "，".join(rng.choice(CONNECTIVES) for _ in range(8))  # connective spam
    return f"答案：{c}\n理由：{spam}，所以選{c}。"


def core_fact(reasoning: str) -> str:
    """The first sentence of the reference reasoning without its "首先，", no final stop."""
    first = reasoning.split("。", 1)[0]
    return first.removeprefix("首先，").strip()


def fields(rng: random.Random, q: mcq.Question) -> dict[str, str]:
    c = q.correct_answer
    w = rng.choice([k for k in LETTERS if k != c])
    return {
        "c": c,
        "w": w,
        "ctext": q.options[c],
        "wtext": q.options[w],
        "core": core_fact(q.reasoning or ""),
        "ref": q.reasoning or "",
        "note": rng.choice(WRONG_NOTES),
        "close": rng.choice(HEDGED_CLOSES),
        "n": str(LETTERS.index(c) + 1),
    }


def chosen_answer(rng: random.Random, q: mcq.Question, f: dict[str, str]) -> str:
    return rng.choice(CHOSEN).format(**f)


def rejected_answer(rng: random.Random, q: mcq.Question, f: dict[str, str], subset: str) -> str:
    if subset == "degenerate":
        return degenerate(rng, q, f["c"], f["w"])
    table = {"wrong": WRONG, "loaded": LOADED, "absolute": ABSOLUTE, "format": FORMAT}[subset]
    return rng.choice(table).format(**f)


def to_simplified(value):
    """Convert every string in a (nested) value with OpenCC ``t2s``."""
    from opencc import OpenCC

    convert = OpenCC("t2s").convert
    if isinstance(value, dict):
        return {
            k: to_simplified(v) if k not in ("id", "question_id", "subset") else v
            for k, v in value.items()
        }
    return convert(value) if isinstance(value, str) else value


def make_pairs(questions: list[mcq.Question], seed: int = 12) -> list[dict]:
    """Two pairs a question, subsets in rotation; every fourth pair in Simplified Chinese."""
    rng = random.Random(seed)
    pairs = []
    for i, q in enumerate(questions):
        for subset in (SUBSETS[i % 5], SUBSETS[(i + 2) % 5]):
            f = fields(rng, q)
            pair = {
                "id": f"{q.id}-{subset}",
                "question_id": q.id,  # both pairs on a question, whatever their script
                "question": q.question,
                "options": dict(q.options),
                "correct_answer": q.correct_answer,
                "chosen": chosen_answer(rng, q, f),
                "rejected": rejected_answer(rng, q, f, subset),
                "subset": subset,
            }
            if len(pairs) % 4 == 3:
                pair = to_simplified(pair) | {"id": pair["id"] + "-hans"}
            pairs.append(pair)
    return pairs


def make_labelled(questions: list[mcq.Question], seed: int = 21) -> list[dict]:
    """One answer a question, good (1) and bad (0) alternating; bad ones rotate the subsets."""
    rng = random.Random(seed)
    rows = []
    for i, q in enumerate(questions):
        f = fields(rng, q)
        good = i % 2 == 0
        kind = "good" if good else SUBSETS[(i // 2) % 5]
        text = chosen_answer(rng, q, f) if good else rejected_answer(rng, q, f, kind)
        row = {
            "id": f"{q.id}-{kind}",
            "question_id": q.id,
            "question": q.question,
            **{f"option_{k}": q.options[k] for k in LETTERS},
            "correct_answer": q.correct_answer,
            "completion": text,
            "good": int(good),
            "kind": kind,
        }
        if i % 4 == 3:
            row = to_simplified(row) | {"id": row["id"] + "-hans", "good": row["good"]}
        rows.append(row)
    return rows


def render(pairs: list[dict], labelled: list[dict]) -> tuple[str, str]:
    jsonl = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(labelled[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(labelled)
    return jsonl, buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--train", type=Path, default=HERE / "sample_train.tsv")
    parser.add_argument("--output-dir", type=Path, default=HERE)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ")
    args = parser.parse_args(argv)
    questions = mcq.load_train(args.train)
    jsonl, table = render(make_pairs(questions), make_labelled(questions))
    targets = {"preference_pairs.jsonl": jsonl, "labelled_answers.csv": table}
    if args.check:
        stale = [
            n
            for n, t in targets.items()
            if not (args.output_dir / n).is_file()
            or (args.output_dir / n).read_text(encoding="utf-8") != t
        ]
        print("out of date: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    for name, text in targets.items():
        write_atomic(args.output_dir / name, text.encode("utf-8"))
    print(f"{len(jsonl.splitlines())} pairs, {len(questions)} labelled answers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
