"""LoRA <-> token layout: order, exact round trip, padding mask, normalisation statistics."""

import math

import pytest
import torch

from trainer.lora.tokens import (
    build_layout,
    compute_stats,
    denormalize,
    detokenize,
    LoraLayout,
    masked_mse,
    normalize,
    peft_name,
    tokenize,
)

MODULES = [("q_proj", "self_attn", 16, 16), ("v_proj", "self_attn", 16, 8), ("down_proj", "mlp", 24, 16)]


def _layout(h=4, w=5, rank=3, layers=2):
    return build_layout(layers, MODULES, rank, h, w, alpha=2 * rank)


def _random_lora(layout, gen, dtype=torch.float32, scale=1.0, shift=0.0):
    return {e.key: (torch.randn(e.rows, e.cols, generator=gen, dtype=torch.float64) * scale + shift).to(dtype) for e in layout.entries}


def test_peft_names():
    assert peft_name(3, "self_attn", "q_proj", "A") == "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight"
    assert peft_name(0, "mlp", "down_proj", "B") == "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"
    with pytest.raises(ValueError):
        peft_name(0, "mlp", "down_proj", "C")


def test_layout_order_and_counts():
    L = _layout()
    size = 20
    expected = []
    off = 0
    for layer in range(2):
        for name, parent, fin, fout in MODULES:
            for matrix, rows, cols in (("A", 3, fin), ("B", fout, 3)):
                n = math.ceil(rows * cols / size)
                expected.append((layer, name, parent, matrix, rows, cols, off, n))
                off += n
    got = [(e.layer, e.module, e.parent, e.matrix, e.rows, e.cols, e.token_offset, e.token_count) for e in L.entries]
    assert got == expected
    assert L.count == off
    # the example of docs/generator-manifest.md: q_proj A, rank 8 x 256, tokens 16 x 64 -> 2 tokens at 0
    D = build_layout(8, [("q_proj", "self_attn", 256, 256), ("v_proj", "self_attn", 256, 64)], 8, 16, 64, alpha=16)
    assert D.entries[0].to_manifest() == {
        "layer": 0, "module": "q_proj", "matrix": "A", "rows": 8, "cols": 256, "token_offset": 0, "token_count": 2,
    }


def test_manifest_round_trip_and_mismatch():
    L = _layout()
    manifest = {"tokens": {"height": 4, "width": 5, "count": L.count}, "lora": L.to_manifest()}
    L2 = LoraLayout.from_manifest(manifest)
    assert L2.entries == L.entries and L2.count == L.count and L2.target_modules == ["q_proj", "v_proj", "down_proj"]
    bad = {"tokens": dict(manifest["tokens"]), "lora": dict(manifest["lora"])}
    bad["lora"]["layout"] = list(bad["lora"]["layout"])
    bad["lora"]["layout"][1] = dict(bad["lora"]["layout"][1], token_offset=99)
    with pytest.raises(ValueError):
        LoraLayout.from_manifest(bad)
    bad2 = {"tokens": dict(manifest["tokens"], count=L.count + 1), "lora": manifest["lora"]}
    with pytest.raises(ValueError):
        LoraLayout.from_manifest(bad2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_round_trip_exact(dtype):
    L = _layout()
    g = torch.Generator().manual_seed(0)
    lora = _random_lora(L, g, dtype)
    tokens, mask = tokenize(lora, L)
    assert tokens.shape == (L.count, 4, 5) and tokens.dtype == dtype
    back = detokenize(tokens, L)
    assert set(back) == set(lora)
    for k in lora:
        assert back[k].dtype == dtype
        assert torch.equal(back[k], lora[k]), k
    # tokens hold the matrices row-major, consecutively
    e = L.entries[2]
    flat = tokens.reshape(-1)[e.token_offset * 20 : e.token_offset * 20 + e.numel]
    assert torch.equal(flat, lora[e.key].reshape(-1))


def test_padding_masked():
    L = _layout()
    g = torch.Generator().manual_seed(1)
    lora = _random_lora(L, g, shift=3.0)  # nonzero everywhere
    tokens, mask = tokenize(lora, L)
    assert mask.dtype == torch.bool and mask.shape == tokens.shape
    assert int(mask.sum()) == sum(e.numel for e in L.entries)
    flat_mask = mask.reshape(-1)
    for e in L.entries:
        s = e.token_offset * 20
        span = flat_mask[s : s + e.token_count * 20]
        assert span[: e.numel].all() and not span[e.numel :].any()
    # padding is zero-filled, and detokenisation ignores whatever is there
    assert torch.all(tokens[~mask] == 0)
    garbage = tokens.clone()
    garbage[~mask] = 123.0
    back = detokenize(garbage, L)
    for k in lora:
        assert torch.equal(back[k], lora[k])
    # the loss ignores padding
    pred = tokens.clone()
    pred[~mask] = -50.0
    assert float(masked_mse(pred, tokens, mask)) == 0.0
    pred2 = tokens.clone()
    pred2[mask] += 2.0
    assert abs(float(masked_mse(pred2, tokens, mask)) - 4.0) < 1e-5


def test_tokenize_rejects_bad_input():
    L = _layout()
    g = torch.Generator().manual_seed(2)
    lora = _random_lora(L, g)
    k0 = L.entries[0].key
    bad = dict(lora)
    del bad[k0]
    with pytest.raises(KeyError):
        tokenize(bad, L)
    bad = dict(lora)
    bad[k0] = bad[k0].t()
    with pytest.raises(ValueError):
        tokenize(bad, L)
    with pytest.raises(ValueError):
        detokenize(torch.zeros(L.count + 1, 4, 5), L)


def _train_and_eval_grids(L):
    g = torch.Generator().manual_seed(3)
    train = torch.stack([tokenize(_random_lora(L, g, scale=0.5, shift=0.1), L)[0] for _ in range(5)])
    evals = torch.stack([tokenize(_random_lora(L, g, scale=7.0, shift=-4.0), L)[0] for _ in range(3)])
    return train, evals


def test_stats_per_matrix_from_training_set_only():
    L = _layout()
    train, evals = _train_and_eval_grids(L)
    mean, std = compute_stats(train, L, mode="per_matrix")
    assert mean.shape == std.shape == (L.count, 4, 5) and mean.dtype == torch.float32
    mask = L.mask()
    for e in L.entries:
        vals = torch.cat([detokenize(t, L)[e.key].reshape(-1) for t in train]).double()
        s = e.token_offset * 20
        m_flat, s_flat = mean.reshape(-1)[s : s + e.numel], std.reshape(-1)[s : s + e.numel]
        assert torch.allclose(m_flat.double(), vals.mean().expand(e.numel), atol=1e-6)
        assert torch.allclose(s_flat.double(), vals.std(unbiased=False).expand(e.numel), atol=1e-6)
    assert torch.all(mean[~mask] == 0) and torch.all(std[~mask] == 1)
    # list input is the same thing; eval data never enters unless passed
    mean_l, std_l = compute_stats(list(train), L, mode="per_matrix")
    assert torch.equal(mean, mean_l) and torch.equal(std, std_l)
    mean_all, _ = compute_stats(torch.cat([train, evals]), L, mode="per_matrix")
    assert not torch.allclose(mean, mean_all)
    # normalised training tokens: per matrix zero mean, unit std
    z = normalize(train, mean, std, mask)
    assert torch.all(z[:, ~mask] == 0)
    for e in L.entries:
        s = e.token_offset * 20
        v = z.reshape(5, -1)[:, s : s + e.numel].double()
        assert abs(float(v.mean())) < 1e-5 and abs(float(v.std(unbiased=False)) - 1) < 1e-5
    # un-normalisation is value = out * std + mean
    back = denormalize(z, mean, std)
    assert torch.allclose(back[:, mask], train[:, mask], atol=1e-5)


def test_stats_per_position():
    L = _layout()
    train, _ = _train_and_eval_grids(L)
    mean, std = compute_stats(train, L, mode="per_position")
    mask = L.mask()
    assert torch.allclose(mean[mask], train.double().mean(0)[mask].float(), atol=1e-6)
    assert torch.allclose(std[mask], train.double().std(0, unbiased=False)[mask].float(), atol=1e-6)
    assert torch.all(mean[~mask] == 0) and torch.all(std[~mask] == 1)
    # a constant position does not divide by zero
    const = train.clone()
    const[:, 0, 0, 0] = 2.5
    _, s2 = compute_stats(const, L, mode="per_position", min_std=1e-6)
    assert float(s2[0, 0, 0]) == pytest.approx(1e-6)
    with pytest.raises(ValueError):
        compute_stats(train, L, mode="per_token_magic")


def test_stats_per_position_mean():
    """Mean per position; one std per matrix: the RMS of the deviations from that mean."""
    L = _layout()
    train, _ = _train_and_eval_grids(L)
    mean, std = compute_stats(train, L, mode="per_position_mean")
    mask = L.mask()
    assert torch.allclose(mean[mask], train.double().mean(0)[mask].float(), atol=1e-6)
    dev = (train.double() - train.double().mean(0)).reshape(5, -1)
    for e in L.entries:
        s = e.token_offset * 20
        want = float(dev[:, s : s + e.numel].pow(2).mean().sqrt())
        got = std.reshape(-1)[s : s + e.numel]
        assert torch.allclose(got.double(), torch.full_like(got.double(), want), atol=1e-6)
    assert torch.all(mean[~mask] == 0) and torch.all(std[~mask] == 1)
