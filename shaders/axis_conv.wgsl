// AxisConv (docs/hyperconv.md): a k x k, stride 1, "same" conv of one (N, H, W) tensor per batch
// element in which one axis is the channel axis and the other two are the image (D1, D2).
// The axis choice is pure index arithmetic: the host passes the element strides of channel, row
// and run image axis for input (X*) and output (Y*), and the weight strides of the kernel offsets
// along them (WI, WJ), so no transpose is ever materialised and the host may swap the two image
// axes (the run goes along the axis that pads less).
//
// Implicit GEMM, register tiled, for SwiftShader-like targets (invocations on CPU SIMD lanes, every
// dynamically indexed load a per-lane gather): each invocation computes 8 output channels x RUN
// consecutive pixels of one row, accumulating in registers; no workgroup memory and no barriers.
// Per input channel and kernel row it loads RUN + K - 1 input values (a sliding window over the
// row, so each is loaded once and used K times) and 8 K weights, for 8 * RUN * K multiply-adds.
// #if F16
enable f16;
alias S = f16;
// #else
alias S = f32;
// #endif

override CIN: u32;
override COUT: u32;
override D1: u32;                 // row axis length
override D2: u32;                 // run axis length (RUN consecutive outputs per invocation)
override K: u32;                  // odd kernel size
override XC: u32;  override X1: u32;  override X2: u32;  override XB: u32;   // input strides
override YC: u32;  override Y1: u32;  override Y2: u32;  override YB: u32;   // output strides
override WI: u32;                 // weight stride of the kernel offset along the row axis
override WJ: u32;                 // ... along the run axis
override RUNS: u32;               // ceil(D2 / RUN)
override OCB: u32;                // ceil(COUT / 8)
override TOTAL: u32;              // BATCH * OCB * D1 * RUNS invocations
override GROUPS_X: u32;           // workgroups along x of the dispatch

const RUN: i32 = 8;

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read> weight: array<S>;   // (COUT, CIN, K, K)
@group(0) @binding(2) var<storage, read_write> y: array<S>;
// #if BIAS
@group(0) @binding(3) var<storage, read> bias: array<S>;     // (COUT)
// #endif
// #if RESIDUAL
// #if BIAS
@group(0) @binding(4) var<storage, read> res: array<S>;      // added to y (same shape): residual
// #else
@group(0) @binding(3) var<storage, read> res: array<S>;
// #endif
// #endif

// One input value of the current row; zero outside the image ("same" padding). The index is
// clamped so the load is always in range and the select needs no branch.
fn ld(row: u32, col: i32, row_ok: bool) -> f32 {
  let v = f32(x[row + u32(clamp(col, 0, i32(D2) - 1)) * X2]);
  return select(0.0, v, row_ok && col >= 0 && col < i32(D2));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wg.y * GROUPS_X + wg.x) * 64u + lid;
  if (t >= TOTAL) { return; }
  // Neighbouring invocations take neighbouring runs of the same row and output channels, so the
  // lanes of a SIMD group read the same weights.
  let run = t % RUNS;
  var r = t / RUNS;
  let p1 = r % D1;
  r = r / D1;
  let ob = r % OCB;
  let b = r / OCB;

  let pad = i32(K / 2u);
  let kk = K * K;
  let oc0 = ob * 8u;
  let wso = CIN * kk;
  let w0 = min(oc0, COUT - 1u) * wso;
  let w1 = min(oc0 + 1u, COUT - 1u) * wso;
  let w2 = min(oc0 + 2u, COUT - 1u) * wso;
  let w3 = min(oc0 + 3u, COUT - 1u) * wso;
  let w4 = min(oc0 + 4u, COUT - 1u) * wso;
  let w5 = min(oc0 + 5u, COUT - 1u) * wso;
  let w6 = min(oc0 + 6u, COUT - 1u) * wso;
  let w7 = min(oc0 + 7u, COUT - 1u) * wso;
  let col0 = i32(run) * RUN - pad;

  // a<p>, b<p>: output channels oc0 .. oc0 + 3 and oc0 + 4 .. oc0 + 7 of pixel p of the run.
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  var b4 = vec4<f32>(0.0); var b5 = vec4<f32>(0.0); var b6 = vec4<f32>(0.0); var b7 = vec4<f32>(0.0);

  // #if K3
  // k = 3: the kernel columns unrolled, so each kernel-row iteration carries the accumulators
  // once for 192 multiply-adds (SwiftShader pays per iteration for loop-carried values).
  for (var c = 0u; c < CIN; c++) {
    let xc = b * XB + c * XC;
    let wc = c * 9u;
    for (var i = 0u; i < 3u; i++) {
      let s1 = i32(p1 + i) - 1;
      let row_ok = s1 >= 0 && s1 < i32(D1);
      let row = xc + u32(clamp(s1, 0, i32(D1) - 1)) * X1;
      let x0 = ld(row, col0 + 0, row_ok); let x1 = ld(row, col0 + 1, row_ok); let x2 = ld(row, col0 + 2, row_ok); let x3 = ld(row, col0 + 3, row_ok); let x4 = ld(row, col0 + 4, row_ok);
      let x5 = ld(row, col0 + 5, row_ok); let x6 = ld(row, col0 + 6, row_ok); let x7 = ld(row, col0 + 7, row_ok); let x8 = ld(row, col0 + 8, row_ok); let x9 = ld(row, col0 + 9, row_ok);
      let wr = wc + i * WI;
      { let wo = wr + 0u * WJ;
        let wa = vec4<f32>(f32(weight[w0 + wo]), f32(weight[w1 + wo]), f32(weight[w2 + wo]), f32(weight[w3 + wo]));
        let wb = vec4<f32>(f32(weight[w4 + wo]), f32(weight[w5 + wo]), f32(weight[w6 + wo]), f32(weight[w7 + wo]));
        a0 += wa * x0; a1 += wa * x1; a2 += wa * x2; a3 += wa * x3; a4 += wa * x4; a5 += wa * x5; a6 += wa * x6; a7 += wa * x7;
        b0 += wb * x0; b1 += wb * x1; b2 += wb * x2; b3 += wb * x3; b4 += wb * x4; b5 += wb * x5; b6 += wb * x6; b7 += wb * x7; }
      { let wo = wr + 1u * WJ;
        let wa = vec4<f32>(f32(weight[w0 + wo]), f32(weight[w1 + wo]), f32(weight[w2 + wo]), f32(weight[w3 + wo]));
        let wb = vec4<f32>(f32(weight[w4 + wo]), f32(weight[w5 + wo]), f32(weight[w6 + wo]), f32(weight[w7 + wo]));
        a0 += wa * x1; a1 += wa * x2; a2 += wa * x3; a3 += wa * x4; a4 += wa * x5; a5 += wa * x6; a6 += wa * x7; a7 += wa * x8;
        b0 += wb * x1; b1 += wb * x2; b2 += wb * x3; b3 += wb * x4; b4 += wb * x5; b5 += wb * x6; b6 += wb * x7; b7 += wb * x8; }
      { let wo = wr + 2u * WJ;
        let wa = vec4<f32>(f32(weight[w0 + wo]), f32(weight[w1 + wo]), f32(weight[w2 + wo]), f32(weight[w3 + wo]));
        let wb = vec4<f32>(f32(weight[w4 + wo]), f32(weight[w5 + wo]), f32(weight[w6 + wo]), f32(weight[w7 + wo]));
        a0 += wa * x2; a1 += wa * x3; a2 += wa * x4; a3 += wa * x5; a4 += wa * x6; a5 += wa * x7; a6 += wa * x8; a7 += wa * x9;
        b0 += wb * x2; b1 += wb * x3; b2 += wb * x4; b3 += wb * x5; b4 += wb * x6; b5 += wb * x7; b6 += wb * x8; b7 += wb * x9; }
    }
  }
  // #else
  for (var c = 0u; c < CIN; c++) {
    let xc = b * XB + c * XC;
    let wc = c * kk;
    for (var i = 0u; i < K; i++) {
      let s1 = i32(p1 + i) - pad;
      let row_ok = s1 >= 0 && s1 < i32(D1);
      let row = xc + u32(clamp(s1, 0, i32(D1) - 1)) * X1;
      var v0 = ld(row, col0, row_ok);
      var v1 = ld(row, col0 + 1, row_ok);
      var v2 = ld(row, col0 + 2, row_ok);
      var v3 = ld(row, col0 + 3, row_ok);
      var v4 = ld(row, col0 + 4, row_ok);
      var v5 = ld(row, col0 + 5, row_ok);
      var v6 = ld(row, col0 + 6, row_ok);
      let wr = wc + i * WI;
      for (var j = 0u; j < K; j++) {
        let v7 = ld(row, col0 + 7 + i32(j), row_ok);
        let wo = wr + j * WJ;
        let wv = vec4<f32>(f32(weight[w0 + wo]), f32(weight[w1 + wo]), f32(weight[w2 + wo]), f32(weight[w3 + wo]));
        a0 += wv * v0; a1 += wv * v1; a2 += wv * v2; a3 += wv * v3;
        a4 += wv * v4; a5 += wv * v5; a6 += wv * v6; a7 += wv * v7;
        let wu = vec4<f32>(f32(weight[w4 + wo]), f32(weight[w5 + wo]), f32(weight[w6 + wo]), f32(weight[w7 + wo]));
        b0 += wu * v0; b1 += wu * v1; b2 += wu * v2; b3 += wu * v3;
        b4 += wu * v4; b5 += wu * v5; b6 += wu * v6; b7 += wu * v7;
        v0 = v1; v1 = v2; v2 = v3; v3 = v4; v4 = v5; v5 = v6; v6 = v7;
      }
    }
  }

  // #endif

  var bv = vec4<f32>(0.0);
  var bu = vec4<f32>(0.0);
  // #if BIAS
  bv = vec4<f32>(f32(bias[min(oc0, COUT - 1u)]), f32(bias[min(oc0 + 1u, COUT - 1u)]),
                 f32(bias[min(oc0 + 2u, COUT - 1u)]), f32(bias[min(oc0 + 3u, COUT - 1u)]));
  bu = vec4<f32>(f32(bias[min(oc0 + 4u, COUT - 1u)]), f32(bias[min(oc0 + 5u, COUT - 1u)]),
                 f32(bias[min(oc0 + 6u, COUT - 1u)]), f32(bias[min(oc0 + 7u, COUT - 1u)]));
  // #endif
  let ybase = b * YB + p1 * Y1;
  let q0 = run * u32(RUN);
  store(ybase, q0, oc0, a0 + bv);
  store(ybase, q0 + 1u, oc0, a1 + bv);
  store(ybase, q0 + 2u, oc0, a2 + bv);
  store(ybase, q0 + 3u, oc0, a3 + bv);
  store(ybase, q0 + 4u, oc0, a4 + bv);
  store(ybase, q0 + 5u, oc0, a5 + bv);
  store(ybase, q0 + 6u, oc0, a6 + bv);
  store(ybase, q0 + 7u, oc0, a7 + bv);
  store(ybase, q0, oc0 + 4u, b0 + bu);
  store(ybase, q0 + 1u, oc0 + 4u, b1 + bu);
  store(ybase, q0 + 2u, oc0 + 4u, b2 + bu);
  store(ybase, q0 + 3u, oc0 + 4u, b3 + bu);
  store(ybase, q0 + 4u, oc0 + 4u, b4 + bu);
  store(ybase, q0 + 5u, oc0 + 4u, b5 + bu);
  store(ybase, q0 + 6u, oc0 + 4u, b6 + bu);
  store(ybase, q0 + 7u, oc0 + 4u, b7 + bu);
}

fn store(ybase: u32, q: u32, oc0: u32, v: vec4<f32>) {
  if (q >= D2) { return; }
  let base = ybase + q * Y2;
  for (var o = 0u; o < 4u; o++) {
    if (oc0 + o < COUT) {
      let idx = base + (oc0 + o) * YC;
      var out = v[o];
      // #if RESIDUAL
      out += f32(res[idx]);
      // #endif
      y[idx] = S(out);
    }
  }
}
