"""CPU tests of the ONNX export (trainer/export/onnx_model.py) that need only torch.

The numerical parity of the ONNX files themselves (onnxruntime) is test/onnx/export-parity.test.ts.
"""
import json
from pathlib import Path

import pytest
import torch

from trainer.base.release import load_exported
from trainer.generator.conditions import encode_ids
from trainer.export.onnx_model import (ALL_TARGETS, ENCODER_INPUTS, ENCODER_OUTPUTS, WEBGPU_OPS, ExportDecoder,
                                 ExportEncoder, export, io_names, lora_shapes, pb_parse, pb_write,
                                 read_graph_summary, sha256_file)
from trainer.fixtures.onnx import (build_cases, load_lora, make_random_lora, make_tiny_model, merged_model,
                                  peft_name, reference_logits)
from trainer.safetensors_io import load_file

FIXTURE = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "onnx-parity"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    model_dir = make_tiny_model(root / "model", seed=7)
    lora_dir = root / "lora"
    make_random_lora(load_exported(model_dir).cfg, lora_dir, seed=7)
    return model_dir, lora_dir


def _inputs(cfg, step: dict, past, dtype=torch.float32):
    return (torch.tensor(step["input_ids"]), torch.tensor(step["attention_mask"]),
            torch.tensor(step["position_ids"]), *[p.to(dtype) for p in past])


def _empty_past(cfg, batch, dtype=torch.float32):
    return [torch.zeros(batch, cfg.num_key_value_heads, 0, cfg.head_dim, dtype=dtype)
            for _ in range(2 * cfg.num_hidden_layers)]


def _lora_inputs(cfg, lora: dict, scale: float, dtype=torch.float32):
    flat = [lora[peft_name(l, m, ab)].to(dtype) for l in range(cfg.num_hidden_layers)
            for m in ALL_TARGETS for ab in ("A", "B")]
    return flat + [torch.tensor([scale], dtype=dtype)]


def _rel(got, want, mask) -> float:
    m = torch.tensor(mask, dtype=torch.bool)
    g, w = got[m].double(), want[m].double()
    return float((g - w).abs().max() / w.abs().max())


def _run_steps(wrapper, cfg, cases, extra=(), dtype=torch.float32):
    with torch.no_grad():
        out1 = wrapper(*_inputs(cfg, cases["prefill"], _empty_past(cfg, 2, dtype), dtype), *extra)
        out2 = wrapper(*_inputs(cfg, cases["decode"], out1[1:], dtype), *extra)
    return out1[0], out2[0]


def test_wrapper_matches_llamalm_prefill_and_cached_decode(tiny):
    model_dir, _ = tiny
    lm = load_exported(model_dir).eval()
    cases = build_cases(lm.cfg)
    want_prefill, want_decode = reference_logits(lm, cases)
    got_prefill, got_decode = _run_steps(ExportDecoder(lm).eval(), lm.cfg, cases)
    assert _rel(got_prefill, want_prefill, cases["prefill"]["attention_mask"]) < 1e-5
    assert _rel(got_decode, want_decode, [[1], [1]]) < 1e-5


def test_lora_inputs_equal_merged_weights(tiny):
    """y = x W^T + s (x A^T) B^T in the wrapper == LlamaLM with W' = W + s B @ A."""
    model_dir, lora_dir = tiny
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    lora, adapter_cfg = load_lora(lora_dir)
    scale = adapter_cfg["lora_alpha"] / adapter_cfg["r"]
    cases = build_cases(cfg)
    wrapper = ExportDecoder(lm, ALL_TARGETS, adapter_cfg["r"]).eval()

    want = reference_logits(merged_model(model_dir, lora, scale), cases)
    got = _run_steps(wrapper, cfg, cases, _lora_inputs(cfg, lora, scale))
    assert _rel(got[0], want[0], cases["prefill"]["attention_mask"]) < 1e-5
    assert _rel(got[1], want[1], [[1], [1]]) < 1e-5
    # the LoRA matters, and lora_scale 0 is exactly the base model
    base = reference_logits(lm, cases)
    assert _rel(got[0], base[0], cases["prefill"]["attention_mask"]) > 1e-2
    off = _run_steps(wrapper, cfg, cases, _lora_inputs(cfg, lora, 0.0))
    assert _rel(off[0], base[0], cases["prefill"]["attention_mask"]) < 1e-5


def test_lora_on_a_subset_of_modules(tiny):
    model_dir, lora_dir = tiny
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    lora, _ = load_lora(lora_dir)
    subset = {k: v for k, v in lora.items() if ".q_proj." in k or ".v_proj." in k}
    cases = build_cases(cfg)
    wrapper = ExportDecoder(lm, ["v_proj", "q_proj"], 8).eval()
    assert wrapper.targets == ["q_proj", "v_proj"]  # config order, whatever order was asked
    extra = [subset[peft_name(l, m, ab)] for l in range(cfg.num_hidden_layers)
             for m in ("q_proj", "v_proj") for ab in ("A", "B")] + [torch.tensor([0.5])]
    want = reference_logits(merged_model(model_dir, subset, 0.5), cases)
    got = _run_steps(wrapper, cfg, cases, extra)
    assert _rel(got[0], want[0], cases["prefill"]["attention_mask"]) < 1e-5


def test_float64_trace_stand_in_matches_float32(tiny):
    """The fp16 files are traced in float64; that wrapper computes the same function."""
    model_dir, _ = tiny
    lm = load_exported(model_dir).eval()
    cases = build_cases(lm.cfg)
    a = _run_steps(ExportDecoder(lm).eval(), lm.cfg, cases)
    b = _run_steps(ExportDecoder(lm, dtype=torch.float64).eval(), lm.cfg, cases, dtype=torch.float64)
    assert b[0].dtype == torch.float32  # logits are float32 in every variant
    assert _rel(b[0], a[0], cases["prefill"]["attention_mask"]) < 1e-5


def test_export_files_io_names_and_ops(tiny, tmp_path):
    model_dir, _ = tiny
    cfg = load_exported(model_dir).cfg
    sidecar = export(model_dir, tmp_path, ALL_TARGETS, 8, fp16=True, log=lambda *_: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "encoder.onnx", "export.json", "model.onnx", "model_fp16.onnx", "model_lora.onnx", "model_lora_fp16.onnx"]
    assert json.loads((tmp_path / "export.json").read_text()) == sidecar
    assert sidecar["source"]["model_safetensors_sha256"] == sha256_file(model_dir / "model.safetensors")
    assert sidecar["opset"] == 17 and sidecar["torch_version"] == torch.__version__
    L = cfg.num_hidden_layers
    shapes = lora_shapes(cfg, 8)
    for name, lora in (("model", False), ("model_lora", True), ("model_fp16", False), ("model_lora_fp16", True)):
        s = read_graph_summary(tmp_path / f"{name}.onnx")
        inputs, outputs = io_names(L, ALL_TARGETS if lora else ())
        assert [x["name"] for x in s["inputs"]] == inputs
        assert [x["name"] for x in s["outputs"]] == outputs
        assert set(s["ops"]) <= WEBGPU_OPS
        assert s["opset"] == {"ai.onnx": 17}
        fdt = "float16" if name.endswith("fp16") else "float32"
        by_name = {x["name"]: x for x in s["inputs"] + s["outputs"]}
        assert by_name["logits"] == {"name": "logits", "dtype": "float32",
                                     "shape": ["batch_size", "sequence_length", cfg.vocab_size]}
        assert by_name["attention_mask"]["shape"] == ["batch_size", "total_sequence_length"]
        assert by_name["past_key_values.1.value"] == {
            "name": "past_key_values.1.value", "dtype": fdt,
            "shape": ["batch_size", cfg.num_key_value_heads, "past_sequence_length", cfg.head_dim]}
        assert by_name["present.0.key"]["shape"][2] == "total_sequence_length"
        assert set(s["initializer_dtypes"]) == {fdt}
        if lora:
            assert by_name["lora.1.down_proj.A"]["shape"] == list(shapes["down_proj"][0])
            assert by_name["lora.0.k_proj.B"]["shape"] == list(shapes["k_proj"][1])
            assert by_name["lora_scale"] == {"name": "lora_scale", "dtype": fdt, "shape": [1]}
    enc = read_graph_summary(tmp_path / "encoder.onnx")
    assert enc["inputs"] == [{"name": "input_ids", "dtype": "int64", "shape": ["batch_size", "sequence_length"]},
                             {"name": "attention_mask", "dtype": "int64", "shape": ["batch_size", "sequence_length"]}]
    assert enc["outputs"] == [{"name": "last_hidden_state", "dtype": "float32",
                               "shape": ["batch_size", "sequence_length", cfg.hidden_size]}]
    assert [x["name"] for x in enc["inputs"]] == ENCODER_INPUTS and enc["outputs"][0]["name"] == ENCODER_OUTPUTS[0]
    assert set(enc["ops"]) <= WEBGPU_OPS and set(enc["initializer_dtypes"]) == {"float32"}
    assert sidecar["encoder"]["file"] == "encoder.onnx" and "encoder.onnx" not in sidecar["files"]
    assert sidecar["encoder"]["summary"]["outputs"] == enc["outputs"]
    # one copy of the embedding table: fp16 file is half the fp32 one
    ratio = (tmp_path / "model_fp16.onnx").stat().st_size / (tmp_path / "model.onnx").stat().st_size
    assert 0.45 < ratio < 0.6


def test_encoder_wrapper_equals_the_trainer_conditions(tiny):
    """ExportEncoder (the encoder.onnx graph) on a right-padded batch == trainer.generator.conditions.encode_ids
    (final-norm hidden states, zero rows at padding), and == LlamaLM.hidden_states per prompt."""
    model_dir, _ = tiny
    lm = load_exported(model_dir).eval()
    cfg = lm.cfg
    g = torch.Generator().manual_seed(3)
    ids = [torch.randint(0, cfg.vocab_size, (n,), generator=g).tolist() for n in (5, 1, 8, 3)]
    L = 8
    want = encode_ids(lm, ids, {"max_tokens": L, "layer": -1, "pooling": "none"})  # (4, L, C)
    t = max(len(x) for x in ids)
    inp = torch.zeros(len(ids), t, dtype=torch.int64)
    mask = torch.zeros(len(ids), t, dtype=torch.int64)
    for i, x in enumerate(ids):
        inp[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    with torch.no_grad():
        got = ExportEncoder(lm).eval()(inp, mask)
        single = [lm.hidden_states(torch.tensor([x]))[0] for x in ids]
    assert got.shape == (len(ids), t, cfg.hidden_size) and got.dtype == torch.float32
    scale = float(want.abs().max())
    assert float((got - want[:, :t]).abs().max()) / scale < 1e-5
    for i, x in enumerate(ids):
        assert float((got[i, : len(x)] - single[i]).abs().max()) / scale < 1e-5
        assert not got[i, len(x):].any()  # padding rows are exactly 0


def test_export_without_encoder(tiny, tmp_path):
    model_dir, _ = tiny
    sidecar = export(model_dir, tmp_path, (), encoder=False, log=lambda *_: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "model.onnx"]
    assert sidecar["encoder"]["file"] is None and sidecar["encoder"]["summary"] is None


def test_protobuf_round_trip(tiny, tmp_path):
    model_dir, _ = tiny
    export(model_dir, tmp_path, (), fp16=False, log=lambda *_: None)
    raw = (tmp_path / "model.onnx").read_bytes()
    model = pb_parse(raw)
    assert pb_write(model) == raw
    graph = next(v for f, _, v in model if f == 7)
    assert pb_write(pb_parse(graph)) == graph


def test_committed_fixture_matches_the_model_code():
    """The committed expected logits are what trainer.base.model computes today (else regenerate:
    python3 -m trainer.fixtures.onnx --model test/fixtures/onnx-parity/tiny-model --out test/fixtures/onnx-parity)."""
    meta = json.loads((FIXTURE / "cases.json").read_text())
    model_dir = FIXTURE / meta["model_dir"]
    assert sha256_file(model_dir / "model.safetensors") == meta["model_safetensors_sha256"]
    expected = load_file(FIXTURE / "expected.safetensors")
    lora, adapter_cfg = load_lora(FIXTURE / meta["lora_dir"])
    assert adapter_cfg["r"] == 8 and sorted(adapter_cfg["target_modules"]) == sorted(ALL_TARGETS)
    for variant, lm in (("base", load_exported(model_dir).eval()),
                        ("lora", merged_model(model_dir, lora, meta["lora_scale"]))):
        prefill, decode = reference_logits(lm, meta["cases"])
        assert torch.allclose(prefill, expected[f"{variant}.prefill"], rtol=1e-5, atol=1e-5)
        assert torch.allclose(decode, expected[f"{variant}.decode"], rtol=1e-5, atol=1e-5)
