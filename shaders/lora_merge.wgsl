// LoRA merge: W' = W + scale * B @ A, scale = alpha / r.
// B: (OUT_F, R), A: (R, IN_F), W and W': (OUT_F, IN_F), all row-major. The matrices may sit at
// element offsets inside larger buffers (e.g. A and B inside the packed detokenised LoRA).
// A workgroup computes a 16 x 16 tile of W'; the tile's R-wide strips of B and A are staged in
// workgroup memory once, so each is read from global memory once per tile, not once per element.
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
  out_offset: u32,
}

const TILE: u32 = 16u;

override OUT_F: u32;
override IN_F: u32;
override R: u32;
override STRIP_LEN: u32;        // TILE * R, computed by the host

@group(0) @binding(0) var<storage, read> base_w: array<S>;
@group(0) @binding(1) var<storage, read> lora_a: array<S>;
@group(0) @binding(2) var<storage, read> lora_b: array<S>;
@group(0) @binding(3) var<storage, read_write> merged: array<S>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> b_strip: array<f32, STRIP_LEN>;   // [row in tile][r]
var<workgroup> a_strip: array<f32, STRIP_LEN>;   // [r][col in tile]

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  for (var idx = lid; idx < TILE * R; idx += TILE * TILE) {
    let t = idx / R;
    let r = idx % R;
    var bv = 0.0;
    if (row0 + t < OUT_F) { bv = f32(lora_b[params.b_offset + (row0 + t) * R + r]); }
    b_strip[idx] = bv;
    let r2 = idx / TILE;
    let t2 = idx % TILE;
    var av = 0.0;
    if (col0 + t2 < IN_F) { av = f32(lora_a[params.a_offset + r2 * IN_F + col0 + t2]); }
    a_strip[idx] = av;
  }
  workgroupBarrier();

  let row = row0 + lid3.y;
  let col = col0 + lid3.x;
  if (row >= OUT_F || col >= IN_F) { return; }
  var delta = 0.0;
  for (var r = 0u; r < R; r++) { delta += b_strip[lid3.y * R + r] * a_strip[r * TILE + lid3.x]; }
  let w = f32(base_w[params.w_offset + row * IN_F + col]);
  merged[params.out_offset + row * IN_F + col] = S(w + params.scale * delta);
}
