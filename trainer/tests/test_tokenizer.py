"""Tokenizer files (needs the ``tokenizers`` package: skipped where it is missing)."""
import json

import pytest

tokenizers = pytest.importorskip("tokenizers")

from trainer.config import load_config  # noqa: E402
from trainer.text.tokenizer import CHAT_TEMPLATE, HFTokenizer, train_tokenizer  # noqa: E402


def test_train_tokenizer_files(tiny_corpus, tmp_path):
    cfg = load_config(overrides={"tokenizer": {"vocab_size": 400, "sample_chars": 100000},
                                 "corpus": {"val_fraction": 0.1}})
    train_tokenizer(tiny_corpus, tmp_path / "tok", cfg, log=lambda m: None)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (tmp_path / "tok" / name).exists()
    tc = json.loads((tmp_path / "tok" / "tokenizer_config.json").read_text())
    assert tc["chat_template"] == CHAT_TEMPLATE
    tok = HFTokenizer(tmp_path / "tok")
    ids = [tok.token_to_id(s) for s in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")]
    assert ids == [0, 1, 2]
    text = "<|im_start|>user\nThe river runs. ünï 😀<|im_end|>\n"
    enc = tok.encode(text)
    assert enc[0] == 1 and 2 in enc
    assert tok.decode(enc) == text
