"""Byte-level BPE tokenizer (Hugging Face ``tokenizers``), ChatML special tokens and chat template.

Writes ``tokenizer.json``, ``tokenizer_config.json`` (with ``chat_template``) and
``special_tokens_map.json``, the files transformers and transformers.js load.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from trainer.text.corpus import tokenizer_sample

# ChatML. Messages with an empty system prompt are left out by the caller (trainer.text.chat).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def train_tokenizer(corpus_dir, out_dir, cfg: dict, log=print) -> dict:
    """Train on a sample of the corpus's train split; write the three tokenizer files."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tcfg = cfg["tokenizer"]
    t0 = time.time()
    texts = tokenizer_sample(corpus_dir, cfg["corpus"]["val_fraction"], tcfg["sample_chars"],
                             cfg["corpus"]["doc_separator"])
    n_chars = sum(len(t) for t in texts)
    log(f"[tokenizer] sample: {len(texts)} pieces, {n_chars} chars ({time.time() - t0:.1f}s)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=tcfg["vocab_size"],
        min_frequency=tcfg["min_frequency"],
        special_tokens=list(tcfg["special_tokens"]),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    save_tokenizer_files(tok, out_dir, cfg)
    info = {"vocab_size": tok.get_vocab_size(), "sample_chars": n_chars,
            "seconds": round(time.time() - t0, 1)}
    log(f"[tokenizer] trained: {info}")
    return info


def save_tokenizer_files(tok, out_dir, cfg: dict) -> None:
    tcfg = cfg["tokenizer"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    added = {}
    for name in tcfg["special_tokens"]:
        added[str(tok.token_to_id(name))] = {
            "content": name, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False, "special": True,
        }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": added,
        "bos_token": tcfg["bos_token"],
        "eos_token": tcfg["eos_token"],
        "pad_token": tcfg["pad_token"],
        "unk_token": tcfg["unk_token"],
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": tcfg["model_max_length"],
        "chat_template": CHAT_TEMPLATE,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    special_map = {
        "bos_token": tcfg["bos_token"],
        "eos_token": tcfg["eos_token"],
        "pad_token": tcfg["pad_token"],
        "unk_token": tcfg["unk_token"],
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
    }
    (out / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2) + "\n",
                                                 encoding="utf-8")


class HFTokenizer:
    """The small interface the trainer needs, over a ``tokenizers.Tokenizer``."""

    def __init__(self, path):
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return self.tok.decode(ids, skip_special_tokens=skip_special_tokens)

    def token_to_id(self, token: str) -> int:
        tid = self.tok.token_to_id(token)
        if tid is None:
            raise KeyError(f"token not in vocabulary: {token!r}")
        return tid

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()


class ByteTokenizer:
    """Dependency-free stand-in used by the CPU tests: bytes 0-255 plus the ChatML specials."""

    SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

    def __init__(self):
        self._special = {s: 256 + i for i, s in enumerate(self.SPECIALS)}

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        i = 0
        while i < len(text):
            for s, tid in self._special.items():
                if text.startswith(s, i):
                    out.append(tid)
                    i += len(s)
                    break
            else:
                j = len(text)
                for s in self._special:
                    k = text.find(s, i)
                    if k != -1:
                        j = min(j, k)
                out.extend(text[i:j].encode("utf-8"))
                i = j
        return out

    def encode_batch(self, texts):
        return [self.encode(t) for t in texts]

    def decode(self, ids, skip_special_tokens=False):
        inv = {v: k for k, v in self._special.items()}
        buf = bytearray()
        parts = []
        for i in ids:
            if i in inv:
                parts.append(buf.decode("utf-8", "replace"))
                buf = bytearray()
                if not skip_special_tokens:
                    parts.append(inv[i])
            else:
                buf.append(i)
        parts.append(buf.decode("utf-8", "replace"))
        return "".join(parts)

    def token_to_id(self, token: str) -> int:
        return self._special[token]

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.SPECIALS)
