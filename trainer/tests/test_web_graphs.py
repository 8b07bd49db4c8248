"""CPU tests of the web graphs (trainer/export/web_graphs.py): the wrapper against LlamaLM, the grouped LoRA
against merged weights, the external-data rewrite against the safetensors header, and the
committed graphs against the committed weights and config.

Numerical parity of the ONNX files in onnxruntime (CPU, WASM, WebGPU) is test/onnx/graphs.test.ts
and test/onnx/web-graphs-parity.test.ts.
"""
import json
import shutil
from pathlib import Path

import pytest
import torch

from trainer.base.release import load_exported
from trainer.export.onnx_model import read_graph_summary, sha256_file
from trainer.export.web_graphs import (LORA_GROUPS, SIDECAR, WEB_OPS, WEIGHTS_FILE, WebDecoder, check_graphs,
                                export_graphs, graph_initializers, io_names, lora_groups, pack_lora,
                                safetensors_layout)
from trainer.fixtures.onnx import load_lora, make_random_lora, make_tiny_model, merged_model, peft_name

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    model_dir = make_tiny_model(root / "model", seed=11)
    make_random_lora(load_exported(model_dir).cfg, root / "lora", seed=11)
    return model_dir, root / "lora"


def _empty_past(cfg, batch, dtype=torch.float32):
    return [torch.zeros(batch, cfg.num_key_value_heads, 0, cfg.head_dim, dtype=dtype)
            for _ in range(2 * cfg.num_hidden_layers)]


def _prompts(cfg, lengths=(5, 3, 7), seed=3):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, cfg.vocab_size, (n,), generator=g).tolist() for n in lengths]


def _right_padded(prompts):
    t = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), t, dtype=torch.int64)
    mask = torch.zeros(len(prompts), t, dtype=torch.int64)
    for i, p in enumerate(prompts):
        ids[i, : len(p)] = torch.tensor(p)
        mask[i, : len(p)] = 1
    return ids, mask


def _generate(wrapper, cfg, prompt, steps, extra=(), dtype=torch.float32):
    """Prefill ``prompt`` (batch 1) then ``steps`` greedy steps; returns the logits of every step."""
    with torch.no_grad():
        out = wrapper(torch.tensor([prompt]), torch.ones(1, len(prompt), dtype=torch.int64),
                      *_empty_past(cfg, 1, dtype), *extra)
        logits, total = [out[0][0, 0]], len(prompt)
        for _ in range(steps):
            nxt = int(logits[-1].argmax())
            total += 1
            out = wrapper(torch.tensor([[nxt]]), torch.ones(1, total, dtype=torch.int64), *out[1:-1], *extra)
            logits.append(out[0][0, 0])
    return torch.stack(logits)


def _reference(lm, prompt, steps):
    """LlamaLM without a cache: the logits of the last position after each greedy step."""
    ids, logits = list(prompt), []
    with torch.no_grad():
        for _ in range(steps + 1):
            logits.append(lm(torch.tensor([ids]))[0, -1])
            ids.append(int(logits[-1].argmax()))
    return torch.stack(logits)


def _rel(got, want) -> float:
    return float((got.double() - want.double()).abs().max() / want.double().abs().max())


def test_decoder_matches_llamalm_and_its_hidden_states(tiny):
    model_dir, _ = tiny
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    wrapper = WebDecoder(lm, lora=False).eval()
    prompts = _prompts(cfg)
    # a first step over a right-padded batch: every prompt's rows equal its own forward
    ids, mask = _right_padded(prompts)
    with torch.no_grad():
        out = wrapper(ids, mask, *_empty_past(cfg, len(prompts)))
        assert out[0].shape == (len(prompts), 1, cfg.vocab_size) and out[0].dtype == torch.float32
        hidden = out[-1]
        assert hidden.shape == (len(prompts), ids.shape[1], cfg.hidden_size)
        for i, p in enumerate(prompts):
            assert _rel(hidden[i, : len(p)], lm.hidden_states(torch.tensor([p]))[0]) < 1e-5
        # the longest row has no padding: its logits are the last position's
        longest = max(range(len(prompts)), key=lambda i: len(prompts[i]))
        assert _rel(out[0][longest, 0], lm(torch.tensor([prompts[longest]]))[0, -1]) < 1e-5
    # then cached decoding, one token per step
    assert _rel(_generate(wrapper, cfg, prompts[0], 6), _reference(lm, prompts[0], 6)) < 1e-5


def test_grouped_lora_equals_merged_weights(tiny):
    model_dir, lora_dir = tiny
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    lora, adapter = load_lora(lora_dir)
    scale = adapter["lora_alpha"] / adapter["r"]
    wrapper = WebDecoder(lm, lora=True).eval()
    prompt = _prompts(cfg)[2]
    want = _reference(merged_model(model_dir, lora, scale), prompt, 4)
    got = _generate(wrapper, cfg, prompt, 4, pack_lora(cfg, lora, scale))
    assert _rel(got, want) < 1e-5
    base = _reference(lm, prompt, 4)
    assert _rel(got, base) > 1e-2  # the LoRA matters
    zero = _generate(wrapper, cfg, prompt, 4, pack_lora(cfg, {}, scale))
    assert _rel(zero, base) < 1e-5  # zero inputs are the base model


def test_grouped_lora_subset_and_smaller_rank(tiny):
    """Modules an adapter lacks stay zero; a rank-4 adapter fills the first 4 rows/columns."""
    model_dir, lora_dir = tiny
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    lora, _ = load_lora(lora_dir)
    subset = {}
    for k, v in lora.items():
        if ".k_proj." in k or ".up_proj." in k:
            subset[k] = v[:4] if ".lora_A." in k else v[:, :4]
    prompt = _prompts(cfg)[0]
    want = _reference(merged_model(model_dir, subset, 0.75), prompt, 3)
    got = _generate(WebDecoder(lm, lora=True).eval(), cfg, prompt, 3, pack_lora(cfg, subset, 0.75))
    assert _rel(got, want) < 1e-5


def test_lora_groups_layout(tiny):
    cfg = load_exported(tiny[0]).cfg
    groups = {g["name"]: g for g in lora_groups(cfg, 8)}
    assert [g for g, _ in LORA_GROUPS] == list(groups)
    q, kv = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    assert groups["qkv"]["A"] == [24, cfg.hidden_size] and groups["qkv"]["B"] == [q + 2 * kv, 24]
    assert [(b["b_row"], b["b_col"]) for b in groups["qkv"]["blocks"]] == [(0, 0), (q, 8), (q + kv, 16)]
    assert groups["down"]["A"] == [8, cfg.intermediate_size] and groups["down"]["B"] == [cfg.hidden_size, 8]


def test_float64_stand_in_matches_float32(tiny):
    model_dir, lora_dir = tiny
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    lora, _ = load_lora(lora_dir)
    prompt = _prompts(cfg)[1]
    a = _generate(WebDecoder(lm, lora=True).eval(), cfg, prompt, 3, pack_lora(cfg, lora, 2.0))
    lm64 = load_exported(model_dir).eval().double()
    b = _generate(WebDecoder(lm64, lora=True, compute=torch.float64).eval(), cfg, prompt, 3,
                  pack_lora(cfg, lora, 2.0), dtype=torch.float64)
    assert b.dtype == torch.float32 and _rel(b, a) < 1e-5


def test_export_writes_small_graphs_whose_weights_are_the_safetensors_bytes(tiny, tmp_path):
    model_dir, _ = tiny
    cfg = load_exported(model_dir).cfg
    side = export_graphs(model_dir, tmp_path, log=lambda *_: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["decoder.onnx", "decoder_lora.onnx", "decoder_f16.onnx", "decoder_lora_f16.onnx", SIDECAR])
    assert json.loads((tmp_path / SIDECAR).read_text()) == side
    weights = model_dir / WEIGHTS_FILE
    assert side["weights"] == {"file": WEIGHTS_FILE, "bytes": weights.stat().st_size, "sha256": sha256_file(weights)}
    layout = safetensors_layout(weights)
    L = cfg.num_hidden_layers
    for name, entry in side["graphs"].items():
        path = tmp_path / name
        assert entry["sha256"] == sha256_file(path) and path.stat().st_size < 120_000
        s = read_graph_summary(path)
        inputs, outputs = io_names(L, entry["lora"])
        assert [x["name"] for x in s["inputs"]] == inputs and [x["name"] for x in s["outputs"]] == outputs
        assert set(s["ops"]) <= WEB_OPS and s["ops"]["com.microsoft.GroupQueryAttention"] == L
        kv = "float16" if entry["compute"] == "float16" else "float32"
        by_name = {x["name"]: x for x in s["inputs"] + s["outputs"]}
        assert by_name["past_key_values.0.key"]["dtype"] == kv and by_name["present.1.value"]["dtype"] == kv
        assert by_name["logits"]["dtype"] == "float32" and by_name["logits"]["shape"][0] == "batch_size"
        assert by_name["last_hidden_state"]["dtype"] == "float32"
        if entry["lora"]:
            assert by_name["lora.0.qkv.A"]["dtype"] == "float32"
        # every tensor of the weights file, exactly where the header puts it, nothing else large
        inits = graph_initializers(path)
        external = {t["name"]: t for t in inits if t["location"] == 1}
        assert set(external) == set(layout)
        for n, t in external.items():
            assert t["external"] == {"location": WEIGHTS_FILE, "offset": str(layout[n]["offset"]),
                                     "length": str(layout[n]["length"])}
            assert t["dims"] == layout[n]["shape"] and t["dtype"] == 10  # float16
        assert all(t["bytes"] <= 4096 for t in inits if t["location"] != 1)
    assert check_graphs(tmp_path, model_dir) == []


def test_check_graphs_names_what_does_not_match(tiny, tmp_path):
    model_dir, _ = tiny
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    export_graphs(model, tmp_path / "graphs", variants=(("decoder", False, "float32"),), log=lambda *_: None)
    assert check_graphs(tmp_path / "graphs", model) == []
    # retrained weights (same layout, other bytes): the graphs must be regenerated
    blob = bytearray((model / WEIGHTS_FILE).read_bytes())
    blob[-2] ^= 0xFF
    (model / WEIGHTS_FILE).write_bytes(bytes(blob))
    problems = check_graphs(tmp_path / "graphs", model)
    assert any("regenerate" in p for p in problems)


def test_committed_graphs_match_the_committed_weights_and_config():
    model = REPO / "models" / "base"
    assert check_graphs(model, model) == []
    side = json.loads((model / SIDECAR).read_text())
    cfg = json.loads((model / "config.json").read_text())
    assert {k: side["config"][k] for k in cfg} == cfg
