"""Text: tokenizer training, corpus shards, packed token streams, ChatML conversations."""
