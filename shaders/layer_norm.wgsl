// LayerNorm over the last two axes of a (B, N, H, W) tensor, with an (H, W) affine.
// One workgroup per (b, n) plane of PLANE = H * W values; mean first, then the biased variance
// from the centred values (two passes: more accurate than E[x^2] - mean^2 in f32).
// #if F16
enable f16;
alias S = f16;
// #else
alias S = f32;
// #endif

struct Params { eps: f32 }

override PLANE: u32;          // H * W
override ROWS: u32;           // B * N planes
override WG: u32 = 64;        // power of two

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read> gamma: array<S>;
@group(0) @binding(2) var<storage, read> beta: array<S>;
@group(0) @binding(3) var<storage, read_write> y: array<S>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> partial: array<f32, WG>;

// Tree sum of `partial`; every invocation gets the total.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { partial[lid] = partial[lid] + partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();   // partial is reused by the next call
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  // Uniform per workgroup, so returning early keeps barriers in uniform control flow.
  if (row >= ROWS) { return; }
  let base = row * PLANE;

  var s = 0.0;
  for (var i = lid; i < PLANE; i += WG) { s += f32(x[base + i]); }
  let mean = workgroup_sum(lid, s) / f32(PLANE);

  var q = 0.0;
  for (var i = lid; i < PLANE; i += WG) { let d = f32(x[base + i]) - mean; q += d * d; }
  let inv_std = inverseSqrt(workgroup_sum(lid, q) / f32(PLANE) + params.eps);

  for (var i = lid; i < PLANE; i += WG) {
    let z = (f32(x[base + i]) - mean) * inv_std;
    y[base + i] = S(z * f32(gamma[i]) + f32(beta[i]));
  }
}
