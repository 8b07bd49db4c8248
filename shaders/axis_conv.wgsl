// AxisConv (docs/hyperconv.md): a k x k, stride 1, "same" conv of one (N, H, W) tensor per batch
// element in which one axis is the channel axis and the other two are the image (D1, D2).
// The axis choice is pure index arithmetic: the host passes the element strides of channel, first
// and second image axis for input (X*) and output (Y*), so no transpose is ever materialised.
//
// Tiling: a workgroup computes a T1 x T2 patch of output pixels for OCT output channels
// (each invocation one pixel, OCT accumulators). Input channels are consumed CC at a time: the
// (T1 + K - 1) x (T2 + K - 1) input halo of CC channels and the matching OCT x CC x K x K weight
// slice are staged in workgroup memory, so each input value is read from global memory once per
// workgroup instead of K*K*OCT times.
// #if F16
enable f16;
alias S = f16;
// #else
alias S = f32;
// #endif

const OCT: u32 = 4u;              // output channels per invocation (accumulators are registers)

override CIN: u32;
override COUT: u32;
override D1: u32;                 // first image axis length
override D2: u32;                 // second image axis length
override K: u32;                  // odd kernel size
override XC: u32;  override X1: u32;  override X2: u32;  override XB: u32;   // input strides
override YC: u32;  override Y1: u32;  override Y2: u32;  override YB: u32;   // output strides
override T1: u32;                 // output tile rows (workgroup_size.y)
override T2: u32;                 // output tile cols (workgroup_size.x)
override CC: u32;                 // input channels per staged chunk
override XS_LEN: u32;             // CC * (T1 + K - 1) * (T2 + K - 1), computed by the host
override WS_LEN: u32;             // OCT * CC * K * K, computed by the host
override CHANNEL_FASTEST: bool = false;   // load order: channel-major when XC == 1 (coalesced)

@group(0) @binding(0) var<storage, read> x: array<S>;
@group(0) @binding(1) var<storage, read> weight: array<S>;   // (COUT, CIN, K, K)
@group(0) @binding(2) var<storage, read_write> y: array<S>;
// #if BIAS
@group(0) @binding(3) var<storage, read> bias: array<S>;     // (COUT)
// #endif

var<workgroup> xs: array<f32, XS_LEN>;   // [cc][a][b], a < T1 + K - 1, b < T2 + K - 1
var<workgroup> ws: array<f32, WS_LEN>;   // [o][cc][i][j]

@compute @workgroup_size(T2, T1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let pad = i32(K / 2u);
  let h1 = T1 + K - 1u;
  let h2 = T2 + K - 1u;
  let kk = K * K;
  let wg_size = T1 * T2;
  let oc_blocks = (COUT + OCT - 1u) / OCT;
  let b = wg.z / oc_blocks;
  let oc0 = (wg.z % oc_blocks) * OCT;
  let origin1 = wg.y * T1;
  let origin2 = wg.x * T2;
  let x_base = b * XB;

  var acc: array<f32, OCT>;
  for (var o = 0u; o < OCT; o++) { acc[o] = 0.0; }

  for (var c0 = 0u; c0 < CIN; c0 += CC) {
    // Stage the input halo of channels c0 .. c0 + CC (zero outside the image: "same" padding).
    for (var idx = lid; idx < CC * h1 * h2; idx += wg_size) {
      var cc: u32; var a: u32; var bb: u32;
      if (CHANNEL_FASTEST) {
        cc = idx % CC; let r = idx / CC; a = r / h2; bb = r % h2;
      } else {
        cc = idx / (h1 * h2); let r = idx % (h1 * h2); a = r / h2; bb = r % h2;
      }
      let c = c0 + cc;
      let p1 = i32(origin1 + a) - pad;
      let p2 = i32(origin2 + bb) - pad;
      var v = 0.0;
      if (c < CIN && p1 >= 0 && p1 < i32(D1) && p2 >= 0 && p2 < i32(D2)) {
        v = f32(x[x_base + c * XC + u32(p1) * X1 + u32(p2) * X2]);
      }
      xs[(cc * h1 + a) * h2 + bb] = v;
    }
    // Stage the weight slice [oc0 .. oc0 + OCT) x [c0 .. c0 + CC) x K x K (zero past the ends).
    for (var idx = lid; idx < OCT * CC * kk; idx += wg_size) {
      let o = idx / (CC * kk);
      let r = idx % (CC * kk);
      let cc = r / kk;
      let ij = r % kk;
      var v = 0.0;
      if (oc0 + o < COUT && c0 + cc < CIN) { v = f32(weight[((oc0 + o) * CIN + c0 + cc) * kk + ij]); }
      ws[idx] = v;
    }
    workgroupBarrier();

    for (var cc = 0u; cc < CC; cc++) {
      for (var i = 0u; i < K; i++) {
        let row = (cc * h1 + lid3.y + i) * h2 + lid3.x;
        for (var j = 0u; j < K; j++) {
          let xv = xs[row + j];
          let wi = (cc * K + i) * K + j;
          for (var o = 0u; o < OCT; o++) { acc[o] += ws[o * CC * kk + wi] * xv; }
        }
      }
    }
    workgroupBarrier();
  }

  let p1 = origin1 + lid3.y;
  let p2 = origin2 + lid3.x;
  if (p1 >= D1 || p2 >= D2) { return; }
  let y_base = b * YB + p1 * Y1 + p2 * Y2;
  for (var o = 0u; o < OCT; o++) {
    let oc = oc0 + o;
    if (oc < COUT) {
      var v = acc[o];
      // #if BIAS
      v += f32(bias[oc]);
      // #endif
      y[y_base + oc * YC] = S(v);
    }
  }
}
