"""The committed answer-features fixture (test/fixtures/answer-features/, `python -m trainer
answer-features-fixture`) is what the trainer's code computes from the ids it stores: the base model's
greedy tokens, the five answer features (zero adapter and the committed test adapter) and the
validation gate's NLL per scale. No tokenizer needed: the fixture stores every id."""
import json
from pathlib import Path

import pytest
import torch

from trainer.base.release import load_exported
from trainer.evaluate.scoring import greedy, sequence_logprobs
from trainer.fixtures.answer_features import GRID, peft_stack, zero_stack
from trainer.generator.answer_features import FEATURES, _own_logprobs, features_from_logprobs

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "test" / "fixtures" / "answer-features"


@pytest.fixture(scope="module")
def model():
    m = load_exported(ROOT / "models" / "base").eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


@pytest.fixture(scope="module")
def fx():
    return json.loads((FIX / "cases.json").read_text())


def test_the_fixture_is_what_the_test_expects(fx):
    assert fx["features_order"] == list(FEATURES) and fx["tokens"] == 4
    assert len(fx["cases"]) >= 4
    assert any(len(c["ids"]) == fx["max_prompt_tokens"] for c in fx["cases"])  # one prompt is left-truncated
    for c in fx["cases"]:
        assert len(c["base_tokens"]) == fx["tokens"]
        assert min(c["margins_base"] + c["margins_adapter"]) >= fx["min_margin"]
    zero = fx["features"]["zero"]
    assert zero[0] == pytest.approx(zero[1], abs=1e-6) and abs(zero[2]) < 1e-6 and zero[4] == 1.0


def test_base_tokens_and_features_follow_from_the_stored_ids(model, fx):
    ids = [c["ids"] for c in fx["cases"]]
    ys = greedy(model, ids, None, fx["tokens"], ())[0]
    assert ys == [c["base_tokens"] for c in fx["cases"]]
    test = peft_stack(model, ROOT / fx["adapter"], [1.0])
    rows = [[i + y for i, y in zip(ids, ys)]]
    first = [[len(i) - 1 for i in ids]]
    lpb = _own_logprobs(model, rows, first, fx["tokens"], None)[0]
    y = torch.tensor(ys)
    for name, stack in (("zero", zero_stack(test)), ("adapter", test)):
        lpa = _own_logprobs(model, rows, first, fx["tokens"], stack)
        got = features_from_logprobs(lpb, lpa, y)[0]
        assert torch.allclose(got, torch.tensor(fx["features"][name]), atol=1e-5), name


def test_validation_nll_follows_from_the_stored_ids(model, fx):
    v = fx["validation"]
    seqs = [r["prompt"] + r["target"] for r in v["ids"]]
    starts = [len(r["prompt"]) for r in v["ids"]]
    lp, cnt = sequence_logprobs(model, seqs, starts, peft_stack(model, ROOT / fx["adapter"], GRID))
    nll = (-lp.sum(1) / cnt.sum()).tolist()
    assert nll == pytest.approx(v["nll"], abs=1e-6) and int(cnt.sum()) == v["tokens"]
    assert (-lp).tolist() == [pytest.approx(r, abs=1e-5) for r in v["row_nll"]]
    assert v["chosen"] == GRID[min(range(len(nll)), key=lambda i: (nll[i], i))]
