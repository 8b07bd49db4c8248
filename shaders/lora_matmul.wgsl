// Fused low-rank matmul for a batch of row vectors:
//   y = x W^T + scale * (x A^T) B^T,   x: (M, IN_F), W: (OUT_F, IN_F), A: (R, IN_F), B: (OUT_F, R)
// so the adapted layer runs without merging W'. A workgroup computes a TM x TN tile of y. The
// reduction over IN_F goes TK at a time through workgroup memory (tiles of x, W and A), and the
// same pass accumulates the tile rows' x A^T (TM x R), which then meets B once at the end.
// #if F16
enable f16;
alias S = f16;
// #else
alias S = f32;
// #endif

struct Params {
  scale: f32,
  a_offset: u32,
  b_offset: u32,
  w_offset: u32,
}

const RQ: u32 = 8u;             // x A^T partials per invocation: R <= RQ * TN

override M: u32;
override IN_F: u32;
override OUT_F: u32;
override R: u32;
override TM: u32;               // rows of y per workgroup (workgroup_size.y)
override TN: u32;               // cols of y per workgroup (workgroup_size.x)
override TK: u32;               // reduction chunk
override XS_LEN: u32;           // TM * TK
override WS_LEN: u32;           // TN * TK
override AS_LEN: u32;           // R * TK
override XA_LEN: u32;           // TM * R

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read> base_w: array<S>;
@group(0) @binding(2) var<storage, read> lora_a: array<S>;
@group(0) @binding(3) var<storage, read> lora_b: array<S>;
@group(0) @binding(4) var<storage, read_write> y: array<S>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> xs: array<f32, XS_LEN>;    // [m][k]
var<workgroup> wts: array<f32, WS_LEN>;   // [n][k]
var<workgroup> ats: array<f32, AS_LEN>;   // [r][k]
var<workgroup> xa: array<f32, XA_LEN>;    // [m][r]

@compute @workgroup_size(TN, TM)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let wg_size = TM * TN;
  let m0 = wg.y * TM;
  let n0 = wg.x * TN;
  var acc = 0.0;
  var xa_part: array<f32, RQ>;
  for (var q = 0u; q < RQ; q++) { xa_part[q] = 0.0; }

  for (var k0 = 0u; k0 < IN_F; k0 += TK) {
    for (var idx = lid; idx < TM * TK; idx += wg_size) {
      let m = m0 + idx / TK; let k = k0 + idx % TK;
      var v = 0.0;
      if (m < M && k < IN_F) { v = f32(x[m * IN_F + k]); }
      xs[idx] = v;
    }
    for (var idx = lid; idx < TN * TK; idx += wg_size) {
      let n = n0 + idx / TK; let k = k0 + idx % TK;
      var v = 0.0;
      if (n < OUT_F && k < IN_F) { v = f32(base_w[params.w_offset + n * IN_F + k]); }
      wts[idx] = v;
    }
    for (var idx = lid; idx < R * TK; idx += wg_size) {
      let r = idx / TK; let k = k0 + idx % TK;
      var v = 0.0;
      if (k < IN_F) { v = f32(lora_a[params.a_offset + r * IN_F + k]); }
      ats[idx] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let xv = xs[lid3.y * TK + kk];
      acc += xv * wts[lid3.x * TK + kk];
      for (var q = 0u; q < RQ; q++) {
        let r = lid3.x + q * TN;
        if (r < R) { xa_part[q] += xv * ats[r * TK + kk]; }
      }
    }
    workgroupBarrier();
  }

  for (var q = 0u; q < RQ; q++) {
    let r = lid3.x + q * TN;
    if (r < R) { xa[lid3.y * R + r] = xa_part[q]; }
  }
  workgroupBarrier();

  let m = m0 + lid3.y;
  let n = n0 + lid3.x;
  if (m >= M || n >= OUT_F) { return; }
  var low = 0.0;
  for (var r = 0u; r < R; r++) { low += xa[lid3.y * R + r] * f32(lora_b[params.b_offset + n * R + r]); }
  y[m * OUT_F + n] = S(acc + params.scale * low);
}
