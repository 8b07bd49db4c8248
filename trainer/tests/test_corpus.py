import lzma

import pytest

from trainer.text.corpus import (CorpusError, list_shards, load_split, read_shard, split_documents,
                            train_val_split)


def test_split_and_holdout(tiny_corpus):
    parts = list(load_split(tiny_corpus, 0.1))
    assert [s.name for s, _, _ in parts] == ["a-000", "b-000"]
    for shard, train, val in parts:
        assert train and val
        assert not set(train) & set(val)
        all_docs = split_documents(read_shard(shard.path))
        assert train + val == all_docs  # val is the trailing slice
        assert sum(map(len, val)) >= 0.1 * sum(map(len, all_docs))


def test_train_val_split_fraction():
    docs = ["x" * 10] * 100
    train, val = train_val_split(docs, 0.05)
    assert len(val) == 5 and len(train) == 95


def test_missing_corpus_dir(tmp_path):
    with pytest.raises(CorpusError, match="corpus directory not found: .*nope"):
        list_shards(tmp_path / "nope")


def test_missing_listed_shard(tiny_corpus):
    (tiny_corpus / "b-000.txt.xz").unlink()
    with pytest.raises(CorpusError, match="b-000.txt.xz"):
        list_shards(tiny_corpus)


def test_empty_shard(tmp_path):
    p = tmp_path / "empty-000.txt.xz"
    p.write_bytes(b"")
    with pytest.raises(CorpusError, match="empty.*empty-000.txt.xz"):
        read_shard(p)


def test_empty_text_shard(tmp_path):
    p = tmp_path / "blank-000.txt.xz"
    with lzma.open(p, "wb") as f:
        f.write(b"  \n")
    with pytest.raises(CorpusError, match="empty.*blank-000.txt.xz"):
        read_shard(p)


def test_corrupt_xz(tmp_path):
    p = tmp_path / "bad-000.txt.xz"
    p.write_bytes(b"this is not xz data at all")
    with pytest.raises(CorpusError, match="bad-000.txt.xz"):
        read_shard(p)


def test_truncated_xz(tmp_path):
    p = tmp_path / "cut-000.txt.xz"
    p.write_bytes(lzma.compress(("hello world " * 1000).encode())[:50])
    with pytest.raises(CorpusError, match="cut-000.txt.xz"):
        read_shard(p)


def test_corrupt_shard_in_corpus_is_named(tiny_corpus):
    (tiny_corpus / "b-000.txt.xz").write_bytes(b"garbage")
    with pytest.raises(CorpusError, match="b-000.txt.xz"):
        list(load_split(tiny_corpus, 0.1))
