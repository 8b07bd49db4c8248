"""Hyper-convolutional decoder: the docs/hyperconv.md contract, the parity fixture, a tiny training run."""

import json
import math
import os

import pytest
import torch

from trainer.fixtures import hyperconv as fx
from trainer.generator.hyperconv import (
    AXIS_H,
    AXIS_N,
    AXIS_W,
    AxisConv,
    DecoderConfig,
    HyperConv3d,
    HyperConvGenerator,
    axis_conv,
    count_parameters,
    load_generator,
)
from trainer.lora.tokens import LoraLayout, build_layout, compute_stats, masked_mse, normalize, tokenize
from trainer.safetensors_io import load_file

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE_DIR = os.path.join(REPO, "test", "fixtures", "hyperconv")
LEAVES = ["norm.weight", "norm.bias", "a_w.weight", "a_h.weight", "b_h.weight", "b_w.weight", "bias", "len_conv.weight", "len_conv.bias"]


# ---------------------------------------------------------------- explicit loop references (float64)

def loop_axis_conv(x, weight, bias, axis):
    """docs/hyperconv.md AxisConv on one sample x (N, H, W), written as loops over the formula.

    Channel axis W: image (H, N): y[n, h, o] = b[o] + sum_{c,i,j} w[o,c,i,j] x[n+j-p, h+i-p, c]
    Channel axis H: image (N, W): y[n, o, w] = b[o] + sum_{c,i,j} w[o,c,i,j] x[n+i-p, c, w+j-p]
    Channel axis N: image (H, W): y[o, h, w] = b[o] + sum_{c,i,j} w[o,c,i,j] x[c, h+i-p, w+j-p]
    """
    N, H, W = x.shape
    C_out, C_in, k, _ = weight.shape
    p = (k - 1) // 2

    def rd(n, h, w):
        if 0 <= n < N and 0 <= h < H and 0 <= w < W:
            return float(x[n, h, w])
        return 0.0

    if axis == AXIS_W:
        assert C_in == W
        y = torch.zeros(N, H, C_out, dtype=torch.float64)
        for n in range(N):
            for h in range(H):
                for o in range(C_out):
                    s = float(bias[o]) if bias is not None else 0.0
                    for c in range(C_in):
                        for i in range(k):
                            for j in range(k):
                                s += float(weight[o, c, i, j]) * rd(n + j - p, h + i - p, c)
                    y[n, h, o] = s
    elif axis == AXIS_H:
        assert C_in == H
        y = torch.zeros(N, C_out, W, dtype=torch.float64)
        for n in range(N):
            for w in range(W):
                for o in range(C_out):
                    s = float(bias[o]) if bias is not None else 0.0
                    for c in range(C_in):
                        for i in range(k):
                            for j in range(k):
                                s += float(weight[o, c, i, j]) * rd(n + i - p, c, w + j - p)
                    y[n, o, w] = s
    else:
        assert C_in == N
        y = torch.zeros(C_out, H, W, dtype=torch.float64)
        for h in range(H):
            for w in range(W):
                for o in range(C_out):
                    s = float(bias[o]) if bias is not None else 0.0
                    for c in range(C_in):
                        for i in range(k):
                            for j in range(k):
                                s += float(weight[o, c, i, j]) * rd(c, h + i - p, w + j - p)
                    y[o, h, w] = s
    return y


@pytest.mark.parametrize("axis", [AXIS_W, AXIS_H, AXIS_N])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_axis_conv_matches_loop_formula(axis, k):
    g = torch.Generator().manual_seed(10 * axis + k)
    N, H, W = 3, 4, 5
    x = torch.randn(2, N, H, W, generator=g, dtype=torch.float64)
    c_in = (N, H, W)[axis]
    c_out = c_in + 2
    weight = torch.randn(c_out, c_in, k, k, generator=g, dtype=torch.float64)
    bias = torch.randn(c_out, generator=g, dtype=torch.float64)
    for b in (None, bias):
        y = axis_conv(x, weight, b, axis)
        expected_shape = [2, N, H, W]
        expected_shape[1 + axis] = c_out
        assert list(y.shape) == expected_shape
        for s in range(2):
            ref = loop_axis_conv(x[s], weight, b, axis)
            assert torch.allclose(y[s], ref, atol=1e-10, rtol=1e-10)
    # the module form, and the axis names
    m = AxisConv(c_in, c_out, k, "NHW"[axis], bias=True).double()
    with torch.no_grad():
        m.weight.copy_(weight)
        m.bias.copy_(bias)
    assert torch.allclose(m(x)[0], loop_axis_conv(x[0], weight, bias, axis), atol=1e-10)


def test_hyperconv3d_matches_formula():
    g = torch.Generator().manual_seed(5)
    N, H, W, H2, W2, k = 3, 4, 5, 6, 2, 3
    m = HyperConv3d((N, H, W), (N, H2, W2), k).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5)
    x = torch.randn(1, N, H, W, generator=g, dtype=torch.float64) * 2 + 1
    y = m(x)[0]
    # formula, step by step
    x0 = x[0]
    mean = x0.mean(dim=(1, 2), keepdim=True)
    var = ((x0 - mean) ** 2).mean(dim=(1, 2), keepdim=True)
    z = (x0 - mean) / torch.sqrt(var + 1e-5) * m.norm.weight + m.norm.bias
    A = loop_axis_conv(loop_axis_conv(z, m.a_w.weight, None, AXIS_W), m.a_h.weight, None, AXIS_H)
    Bp = torch.tanh(loop_axis_conv(loop_axis_conv(z, m.b_h.weight, None, AXIS_H), m.b_w.weight, None, AXIS_W))
    ref = (A + Bp + m.bias) / 3
    assert y.shape == (N, H2, W2)
    assert torch.allclose(y, ref, atol=1e-10)


# ---------------------------------------------------------------- block structure

def _fixture_model():
    return HyperConvGenerator(DecoderConfig(fx.FEATURES, fx.KERNEL_SIZES))


def test_state_dict_names_and_shapes():
    m = _fixture_model()
    sd = m.state_dict()
    names = {f"decoder.layers.{i}.{leaf}" for i in range(len(fx.KERNEL_SIZES)) for leaf in LEAVES}
    assert set(sd) == names
    for i, k in enumerate(fx.KERNEL_SIZES):
        (n, h, w), (n2, h2, w2) = fx.FEATURES[i], fx.FEATURES[i + 1]
        pre = f"decoder.layers.{i}."
        assert sd[pre + "norm.weight"].shape == (h, w) and sd[pre + "norm.bias"].shape == (h, w)
        assert sd[pre + "a_w.weight"].shape == (w2, w, k, k) and sd[pre + "b_w.weight"].shape == (w2, w, k, k)
        assert sd[pre + "a_h.weight"].shape == (h2, h, k, k) and sd[pre + "b_h.weight"].shape == (h2, h, k, k)
        assert sd[pre + "bias"].shape == (h2, w2)
        assert sd[pre + "len_conv.weight"].shape == (n2, n, k, k) and sd[pre + "len_conv.bias"].shape == (n2,)
    assert m.num_parameters() == sum(v.numel() for v in sd.values()) == count_parameters(fx.FEATURES, fx.KERNEL_SIZES)


def test_layer_shapes_and_residual_rule():
    torch.manual_seed(0)
    m = _fixture_model().double()
    with torch.no_grad():  # make every layer's contribution clearly nonzero
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    assert m.decoder.residual == [False, True, False, True]
    x = torch.randn((2,) + fx.FEATURES[0], dtype=torch.float64)
    out, layers = m(x, return_layers=True)
    assert [tuple(t.shape) for t in layers] == [(2,) + f for f in fx.FEATURES[1:]]
    assert torch.equal(out, layers[-1])
    assert torch.equal(m(x), out)
    prev = x
    for i, layer in enumerate(m.decoder.layers):
        inner = layer(prev)
        if fx.FEATURES[i] == fx.FEATURES[i + 1]:
            assert torch.allclose(layers[i], prev + inner, atol=1e-12)
            assert not torch.allclose(layers[i], inner)
        else:
            assert torch.allclose(layers[i], inner, atol=1e-12)
        prev = layers[i]
    with pytest.raises(ValueError):
        m(torch.randn(2, 4, 8, 6, dtype=torch.float64))


def test_init_residual_layers_start_near_identity():
    torch.manual_seed(1)
    m = HyperConvGenerator(DecoderConfig([(4, 6, 8), (8, 5, 10), (8, 5, 10), (8, 5, 10)], [3, 3, 3]))
    x = torch.randn(4, 8, 5, 10)
    for layer in list(m.decoder.layers)[1:]:
        assert layer.residual
        rel = float(layer(x).norm() / x.norm())
        assert rel < 0.2, rel
    # the non-residual first layer is not vanishing
    y = m.decoder.layers[0](torch.randn(4, 4, 6, 8))
    assert 0.2 < float(y.std()) < 3.0
    # LayerNorm starts at identity, biases at zero
    l0 = m.decoder.layers[0]
    assert torch.all(l0.norm.weight == 1) and torch.all(l0.norm.bias == 0) and torch.all(l0.bias == 0)


def test_config_json_round_trip(tmp_path):
    cfg = DecoderConfig(fx.FEATURES, fx.KERNEL_SIZES, 1e-5)
    p = tmp_path / "decoder.json"
    p.write_text(json.dumps(cfg.to_dict()))
    assert DecoderConfig.from_json(str(p)) == cfg
    assert DecoderConfig.from_json(os.path.join(FIXTURE_DIR, "generator.json")) == cfg
    with pytest.raises(ValueError):
        HyperConvGenerator(DecoderConfig([(1, 2, 3), (1, 2, 3)], [3, 3]))
    with pytest.raises(ValueError):
        HyperConvGenerator(DecoderConfig([(1, 2, 3), (1, 2, 3)], [2]))


# ---------------------------------------------------------------- the committed parity fixture

def _load_fixture(d):
    with open(os.path.join(d, "generator.json")) as f:
        manifest = json.load(f)
    return manifest, load_file(os.path.join(d, "generator.safetensors")), load_file(os.path.join(d, "io.safetensors"))


def test_fixture_properties():
    manifest, gen, io = _load_fixture(FIXTURE_DIR)
    total = sum(os.path.getsize(os.path.join(FIXTURE_DIR, f)) for f in os.listdir(FIXTURE_DIR))
    assert total < 2 * 1024 * 1024
    feats = [tuple(f) for f in manifest["decoder"]["features"]]
    ks = manifest["decoder"]["kernel_sizes"]
    assert {1, 3, 5} <= set(ks)
    assert any(a == b for a, b in zip(feats, feats[1:]))  # a residual layer
    assert any(a[0] != b[0] for a, b in zip(feats, feats[1:]))  # an N-changing layer
    assert all(f[1] != f[2] for f in feats)  # non-square maps
    for name, t in gen.items():
        assert t.dtype == torch.float32, name
    for i in range(len(ks)):
        assert not torch.allclose(gen[f"decoder.layers.{i}.norm.weight"], torch.ones(1))
        for leaf in ("norm.bias", "bias", "len_conv.bias"):
            assert gen[f"decoder.layers.{i}.{leaf}"].abs().min() > 0
    # manifest consistency: tokens, layout, encoder
    toks = manifest["tokens"]
    assert (toks["count"], toks["height"], toks["width"]) == feats[-1]
    layout = LoraLayout.from_manifest(manifest)
    assert layout.count == feats[-1][0]
    assert gen[toks["mean"]].shape == gen[toks["std"]].shape == feats[-1]
    assert torch.all(gen[toks["std"]] > 0)
    enc = manifest["encoder"]
    assert (enc["prompt_count"], enc["max_tokens"], enc["channels"]) == feats[0]
    assert manifest["base_model"]["id"] == "fixture-random" and manifest["training"]["fixture"] is True
    # io tensors
    B = io["input"].shape[0]
    assert B == 2 and io["input"].shape[1:] == feats[0]
    for i in range(len(ks)):
        assert io[f"layer.{i}"].shape == (B,) + feats[i + 1] and io[f"layer.{i}"].dtype == torch.float32
    assert torch.equal(io["output"], io[f"layer.{len(ks) - 1}"])
    assert set(io) == {"input", "output"} | {f"layer.{i}" for i in range(len(ks))}


def _rel_err(got, exp):
    return float((got.double() - exp.double()).abs().max() / max(1.0, float(exp.abs().max())))


def test_fixture_f32_consumer_within_tolerance():
    model, manifest, _ = load_generator(FIXTURE_DIR, dtype=torch.float32)
    _, _, io = _load_fixture(FIXTURE_DIR)
    with torch.no_grad():
        out, layers = model(io["input"], return_layers=True)
    for i, t in enumerate(layers):
        assert _rel_err(t, io[f"layer.{i}"]) < fx.TOLERANCE_REL
    assert _rel_err(out, io["output"]) < fx.TOLERANCE_REL


def test_fixture_reproduced_by_code(tmp_path):
    fx.write_fixture(str(tmp_path))
    m0, g0, io0 = _load_fixture(FIXTURE_DIR)
    m1, g1, io1 = _load_fixture(str(tmp_path))
    assert m0 == m1
    assert set(g0) == set(g1) and set(io0) == set(io1)
    for k in g0:
        assert torch.equal(g0[k], g1[k]), k
    assert torch.equal(io0["input"], io1["input"])
    for k in io0:
        # computed in float64 then rounded: allow a last-ulp difference across torch/BLAS builds
        assert torch.allclose(io0[k], io1[k], rtol=1e-6, atol=1e-7), k


# ---------------------------------------------------------------- tiny end-to-end training

def test_tiny_generator_training_lowers_masked_loss():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    layout = build_layout(2, [("q_proj", "self_attn", 16, 16), ("v_proj", "self_attn", 16, 8)], 2, 4, 5, alpha=4)
    n_tasks = 4
    conditions = torch.randn(n_tasks, 4, 6, 8, generator=g)
    grids = []
    for _ in range(n_tasks):
        lora = {e.key: torch.randn(e.rows, e.cols, generator=g) * (0.1 if e.matrix == "A" else 0.02) for e in layout.entries}
        grids.append(tokenize(lora, layout)[0])
    grids = torch.stack(grids)
    mask = layout.mask()
    mean, std = compute_stats(grids, layout, mode="per_position")
    target = normalize(grids, mean, std, mask)
    model = HyperConvGenerator(DecoderConfig([(4, 6, 8), (8, 5, 10), (8, 5, 10), (layout.count, 4, 5)], [3, 3, 1]))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(80):
        loss = masked_mse(model(conditions), target, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


# ---------------------------------------------------------------- ONNX export (torch only, no onnx package)

@pytest.mark.parametrize("dynamic", [False, True])
def test_onnx_export_matches_fixture(tmp_path, dynamic):
    from collections import Counter

    from trainer.export.onnx_generator import ALLOWED_OPS, export, read_onnx, run_onnx_reference

    out = tmp_path / "gen.onnx"
    try:
        info = export(FIXTURE_DIR, str(out), batch=2, dynamic_batch=dynamic)
    except RuntimeError as e:  # a torch build whose exporter needs a package that is not installed
        if "needs the missing Python package" in str(e):
            pytest.skip(str(e))
        raise
    assert out.exists() and info["bytes"] > 10_000
    graph = read_onnx(str(out))
    assert graph["opsets"][""] >= 17
    assert graph["inputs"] == ["condition"] and graph["outputs"] == ["tokens"]
    ops = Counter(n["op"] for n in graph["nodes"])
    assert set(ops) <= ALLOWED_OPS, ops
    n_layers = len(fx.KERNEL_SIZES)
    assert ops["Conv"] == 5 * n_layers and ops["Tanh"] == n_layers
    assert ops["LayerNormalization"] == n_layers
    # the file's graph, evaluated by an independent tiny interpreter, reproduces the fixture
    _, _, io = _load_fixture(FIXTURE_DIR)
    got = run_onnx_reference(graph, {"condition": io["input"]})["tokens"]
    assert got.shape == io["output"].shape
    assert _rel_err(got, io["output"]) < 1e-6
