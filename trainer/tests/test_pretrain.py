import numpy as np
import torch

from trainer.text.packing import PackedBatches, doc_pieces, encode_corpus, load_tokens
from trainer.base.model import LlamaLM, ModelConfig
from trainer.text.tokenizer import ByteTokenizer
from trainer.base.train_loop import evaluate, lr_at, train

from conftest import TEXT_DOCS

TCFG = {"lr": 3e-3, "min_lr_ratio": 0.1, "warmup_steps": 5, "weight_decay": 0.1, "beta1": 0.9,
        "beta2": 0.95, "grad_clip": 1.0, "max_steps": 40, "log_every": 10, "compile": False}
MCFG = ModelConfig(vocab_size=259, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
CFG = {"corpus": {"val_fraction": 0.1, "doc_separator": "\n\n<|endoftext|>\n"}}


def _tokens():
    tok = ByteTokenizer()
    text = "".join(d + "<|endoftext|>" for d in TEXT_DOCS * 6)  # a few KB
    return np.asarray(tok.encode(text), dtype=np.int64)


def test_lr_schedule():
    assert lr_at(0, 100, 10, 1.0, 0.1) == 0.1
    assert abs(lr_at(10, 100, 10, 1.0, 0.1) - 1.0) < 1e-9
    assert abs(lr_at(100, 100, 10, 1.0, 0.1) - 0.1) < 1e-9
    assert lr_at(50, None, 10, 1.0, 0.1) == 1.0


def test_packed_batches_deterministic_and_cover_epoch():
    toks = np.arange(1001)
    b = PackedBatches(toks, seq_len=10, batch_size=7, seed=3)
    x, y = b.get(0)
    assert x.shape == (7, 10) and torch.equal(x[:, 1:], y[:, :-1])
    x2, _ = PackedBatches(toks, 10, 7, 3).get(0)
    assert torch.equal(x, x2)
    starts = set()
    for step in range(100 // 7 + 1):
        xs, _ = b.get(step)
        starts |= {int(r[0]) for r in xs}
    assert starts == set(range(0, 1000, 10))  # every window seen in the first epoch


def test_loss_mask_in_batches():
    toks = np.arange(101)
    mask = np.zeros(101, dtype=bool)
    mask[50:60] = True
    b = PackedBatches(toks, 100, 1, 0, loss_mask=mask)
    _, y = b.get(0)
    kept = y[y != -100]
    assert kept.tolist() == list(range(50, 60))


def test_tiny_pretraining_lowers_loss(tmp_path):
    torch.manual_seed(0)
    toks = _tokens()
    assert 2000 < len(toks) < 20000
    model = LlamaLM(MCFG)
    b = PackedBatches(toks, 32, 8, seed=1)
    before = evaluate(model, toks, 32, 8)["loss"]
    state = train(model, b, TCFG, tmp_path / "ck.pt", log=lambda m: None)
    after = evaluate(model, toks, 32, 8)["loss"]
    assert state["done"] and state["step"] == 40
    assert after < before - 1.0, (before, after)


def test_resume_reproduces_next_step_exactly(tmp_path):
    toks = _tokens()
    cfg = dict(TCFG, max_steps=6)

    torch.manual_seed(0)
    ref = LlamaLM(MCFG)
    init = {k: v.clone() for k, v in ref.state_dict().items()}
    train(ref, PackedBatches(toks, 32, 4, seed=1), cfg, tmp_path / "ref.pt", log=lambda m: None)

    # the same run, cut off after 3 steps (deadline in the past once 3 steps are done)
    cut = LlamaLM(MCFG)
    cut.load_state_dict(init)
    train(cut, PackedBatches(toks, 32, 4, seed=1), dict(cfg, max_steps=3),
          tmp_path / "cut.pt", log=lambda m: None)
    ck = torch.load(tmp_path / "cut.pt")
    ck["state"]["total_steps"] = 6
    ck["state"]["done"] = False
    torch.save(ck, tmp_path / "cut.pt")
    resumed = LlamaLM(MCFG)  # fresh object: everything comes from the checkpoint
    state = train(resumed, PackedBatches(toks, 32, 4, seed=1), cfg, tmp_path / "cut.pt",
                  log=lambda m: None)
    assert state["step"] == 6
    for k, v in ref.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k


def test_deadline_pauses_and_resumes(tmp_path):
    toks = _tokens()
    torch.manual_seed(0)
    m = LlamaLM(MCFG)
    st = train(m, PackedBatches(toks, 32, 4, seed=1), dict(TCFG, max_steps=5), tmp_path / "c.pt",
               deadline=0.0, log=lambda m: None)
    assert not st["done"] and st["step"] == 0
    st = train(LlamaLM(MCFG), PackedBatches(toks, 32, 4, seed=1), dict(TCFG, max_steps=5),
               tmp_path / "c.pt", log=lambda m: None)
    assert st["done"] and st["step"] == 5


def test_encode_corpus_and_holdout(tiny_corpus, tmp_path):
    tok = ByteTokenizer()
    summary = encode_corpus(tiny_corpus, tmp_path / "data", tok, CFG, log=lambda m: None)
    assert summary["train_tokens"] > 0 and summary["val_tokens"] > 0
    train_t = load_tokens(tmp_path / "data", "train")
    val_t = load_tokens(tmp_path / "data", "val")
    assert len(train_t) == summary["train_tokens"] and len(val_t) == summary["val_tokens"]
    eot = tok.token_to_id("<|endoftext|>")
    assert train_t[-1] == eot and val_t[-1] == eot


def test_doc_pieces_rejoin():
    doc = "\n\n".join(f"Paragraph {i} " + "word " * 50 for i in range(40))
    pieces = doc_pieces(doc, max_chars=500)
    assert len(pieces) > 1
    assert "".join(pieces) == doc
