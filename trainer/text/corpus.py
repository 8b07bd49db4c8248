"""Reading the pretraining corpus: xz text shards listed by the corpus manifest.

Layout (see the corpus's MANIFEST.md): ``manifest.json`` lists ``shards[].file``; each shard is UTF-8
text, xz-compressed, every document followed by ``"\\n\\n<|endoftext|>\\n"``.

Held-out slice: from every shard, the trailing documents that together make up at least
``val_fraction`` of the shard's characters (at least one document) are validation data and are never
trained on, nor used to train the tokenizer. The split is a pure function of the shard text.
"""
from __future__ import annotations

import json
import lzma
from dataclasses import dataclass
from pathlib import Path

DOC_SEPARATOR = "\n\n<|endoftext|>\n"


class CorpusError(RuntimeError):
    """A corpus problem a user can fix; the message names the file."""


@dataclass
class Shard:
    name: str
    path: Path


def list_shards(corpus_dir: str | Path) -> list[Shard]:
    """Shards named by ``manifest.json`` (or, without one, every ``*.txt.xz``), in manifest order."""
    root = Path(corpus_dir)
    if not root.exists():
        raise CorpusError(f"corpus directory not found: {root}")
    if not root.is_dir():
        raise CorpusError(f"corpus path is not a directory: {root}")
    manifest = root / "manifest.json"
    if manifest.exists():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            names = [entry["file"] for entry in data["shards"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise CorpusError(f"cannot read shard list from {manifest}: {exc}") from exc
    else:
        names = sorted(p.name for p in root.glob("*.txt.xz"))
    if not names:
        raise CorpusError(f"no shards (*.txt.xz) found in corpus directory {root}")
    shards = []
    for name in names:
        path = root / name
        if not path.is_file():
            raise CorpusError(f"shard listed in {manifest} is missing: {path}")
        shards.append(Shard(name=name.split(".")[0], path=path))
    return shards


def read_shard(path: str | Path) -> str:
    """The decompressed text of one shard. Raises CorpusError naming the file on any problem."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"shard not found: {path}")
    if path.stat().st_size == 0:
        raise CorpusError(f"shard is empty (0 bytes): {path}")
    try:
        with lzma.open(path, "rb") as f:
            raw = f.read()
    except (lzma.LZMAError, EOFError, OSError) as exc:
        raise CorpusError(f"cannot decompress shard {path} (corrupt or not xz): {exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"shard {path} is not valid UTF-8: {exc}") from exc
    if not text.strip():
        raise CorpusError(f"shard is empty (no text after decompression): {path}")
    return text


def split_documents(text: str, separator: str = DOC_SEPARATOR) -> list[str]:
    """Documents of a shard, separators removed, empty pieces dropped."""
    docs = text.split(separator)
    return [d for d in docs if d.strip()]


def train_val_split(docs: list[str], val_fraction: float) -> tuple[list[str], list[str]]:
    """(train, val): val is the trailing documents holding >= val_fraction of the characters."""
    if len(docs) < 2:
        return docs, []
    total = sum(len(d) for d in docs)
    need = total * val_fraction
    acc = 0
    cut = len(docs)
    while cut > 1 and acc < need:
        cut -= 1
        acc += len(docs[cut])
    return docs[:cut], docs[cut:]


def load_split(corpus_dir: str | Path, val_fraction: float, separator: str = DOC_SEPARATOR):
    """Yield (shard, train_docs, val_docs) for every shard."""
    for shard in list_shards(corpus_dir):
        docs = split_documents(read_shard(shard.path), separator)
        if not docs:
            raise CorpusError(f"shard has no documents: {shard.path}")
        train, val = train_val_split(docs, val_fraction)
        yield shard, train, val


def tokenizer_sample(corpus_dir: str | Path, val_fraction: float, max_chars: int,
                     separator: str = DOC_SEPARATOR) -> list[str]:
    """Training text for the tokenizer: from each shard's train part, a share of ``max_chars``
    proportional to the shard's size, taken as evenly spaced paragraphs-sized pieces."""
    parts = [(s, tr) for s, tr, _ in load_split(corpus_dir, val_fraction, separator)]
    sizes = [sum(len(d) for d in tr) for _, tr in parts]
    total = sum(sizes) or 1
    out: list[str] = []
    for (shard, train), size in zip(parts, sizes):
        budget = int(max_chars * size / total)
        text = "\n\n".join(train)
        if budget >= len(text):
            pieces = [text]
        else:
            # 200 evenly spaced windows, cut on paragraph boundaries where possible
            n = 200
            win = budget // n
            stride = len(text) // n
            pieces = []
            for i in range(n):
                start = i * stride
                chunk = text[start:start + win]
                first = chunk.find("\n")
                if 0 <= first < len(chunk) // 4:
                    chunk = chunk[first + 1:]
                pieces.append(chunk)
        for piece in pieces:
            # tokenizer trainer gets modest strings
            for j in range(0, len(piece), 1 << 16):
                out.append(piece[j:j + (1 << 16)])
    return out
