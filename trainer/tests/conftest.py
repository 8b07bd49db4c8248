import lzma
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SEP = "\n\n<|endoftext|>\n"

TEXT_DOCS = [
    "The river runs to the sea. The sea is wide and the sky is blue.\n\nBirds fly over the water.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
    "apple: a round fruit.\nbanana: a long yellow fruit.\ncherry: a small red fruit.",
    "Once upon a time a small cat lived in a big house. The cat liked milk and sleep.",
    "Water boils at one hundred degrees. Ice melts at zero degrees. Steam is hot.",
    "The king and the queen walked in the garden. The garden had roses and tall trees.",
]


def write_shard(path: Path, docs):
    with lzma.open(path, "wb") as f:
        f.write("".join(d + SEP for d in docs).encode("utf-8"))


@pytest.fixture
def tiny_corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    docs = [d + f" Number {i}." for i in range(12) for d in TEXT_DOCS]
    write_shard(root / "a-000.txt.xz", docs[: len(docs) // 2])
    write_shard(root / "b-000.txt.xz", docs[len(docs) // 2:])
    (root / "manifest.json").write_text(
        '{"shards": [{"file": "a-000.txt.xz"}, {"file": "b-000.txt.xz"}]}')
    return root
