import json

import pytest

from trainer.text.chat import DatasetError, add_replay, build_stream, encode_example, read_task, render_prompt
from trainer.text.tokenizer import CHAT_TEMPLATE, ByteTokenizer


def test_mask_covers_only_assistant_tokens():
    tok = ByteTokenizer()
    ex = {"system": "Be brief.", "prompt": "What is 2+2?", "response": "4, of course."}
    ids, mask = encode_example(tok, ex)
    assert len(ids) == len(mask)
    target = [i for i, m in zip(ids, mask) if m]
    assert tok.decode(target) == "4, of course.<|im_end|>"
    # everything before the assistant answer is context, not target
    first = mask.index(1)
    assert tok.decode(ids[:first]) == ("<|im_start|>system\nBe brief.<|im_end|>\n"
                                      "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                                      "<|im_start|>assistant\n")
    assert tok.decode(ids) == tok.decode(ids[:first]) + "4, of course.<|im_end|>\n"
    assert mask[-1] == 0


def test_no_system_turn_when_empty():
    tok = ByteTokenizer()
    ids, mask = encode_example(tok, {"system": "", "prompt": "hi", "response": "hello"})
    assert tok.decode(ids).startswith("<|im_start|>user\nhi")


def test_render_matches_chat_template():
    jinja2 = pytest.importorskip("jinja2")
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "U\nx"}]
    out = jinja2.Template(CHAT_TEMPLATE).render(messages=msgs, add_generation_prompt=True)
    assert out == render_prompt(msgs)


def _write_task(root, name, rows):
    d = root / name
    d.mkdir(parents=True)
    (d / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_build_stream_only_listed_tasks(tmp_path):
    _write_task(tmp_path, "A", [{"prompt": f"p{i}", "response": f"r{i}", "system": ""}
                                for i in range(5)])
    _write_task(tmp_path, "EvalOnly", [{"prompt": "SECRET", "response": "SECRET", "system": ""}])
    ccfg = {"tasks": ["A"], "max_examples_per_task": 3, "max_example_tokens": 1000}
    ids, mask, info = build_stream(ByteTokenizer(), tmp_path, ccfg, seed=0, log=lambda m: None)
    assert info["examples_per_task"] == {"A": 3}
    assert "SECRET" not in ByteTokenizer().decode(ids.tolist())
    assert len(ids) == len(mask) and 0 < mask.sum() < len(mask)


def test_missing_task_named(tmp_path):
    with pytest.raises(DatasetError, match="Nope.*train.jsonl"):
        read_task(tmp_path, "Nope")


def test_replay_is_train_prefix_with_full_loss(tmp_path):
    import numpy as np

    np.arange(1000, dtype=np.uint16).tofile(tmp_path / "s.train.bin")
    np.full(50, 7, dtype=np.uint16).tofile(tmp_path / "s.val.bin")
    ids = np.arange(100)
    mask = np.zeros(100, dtype=bool)
    ids2, mask2, info = add_replay(ids, mask, tmp_path, 0.5, {"s": 1.0}, log=lambda m: None)
    assert info["tokens"] == 100
    assert ids2[100:].tolist() == list(range(100)) and mask2[100:].all() and not mask2[:100].any()
    with pytest.raises(DatasetError, match="replay shard s"):
        add_replay(np.arange(5000), np.zeros(5000, bool), tmp_path, 0.5, {"s": 1.0}, log=print)
