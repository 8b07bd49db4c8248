// Detokenisation: un-normalise the generator's tokens (value = t * std + mean, all (count, h, w))
// and scatter every matrix's valid values into its place in one packed output buffer.
// One invocation per valid value; padding in a matrix's last token is never read.
//
// Layout table, 5 u32 per matrix, sorted by value_start:
//   token_offset  first token of the matrix
//   rows, cols    matrix shape (rows * cols values, row-major)
//   value_start   prefix sum of rows * cols over earlier matrices (the dispatch index space)
//   out_offset    element offset of the matrix in `packed`
// #if F16
enable f16;
alias S = f16;
// #else
alias S = f32;
// #endif

override MATRICES: u32;
override TOTAL_VALUES: u32;    // sum of rows * cols
override TOKEN_SIZE: u32;      // h * w
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> tokens: array<S>;    // normalised, (count, h, w)
@group(0) @binding(1) var<storage, read> mean: array<S>;
@group(0) @binding(2) var<storage, read> std_dev: array<S>;
@group(0) @binding(3) var<storage, read> layout_table: array<u32>;
@group(0) @binding(4) var<storage, read_write> packed: array<S>;

fn field(m: u32, f: u32) -> u32 { return layout_table[m * 5u + f]; }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  if (g >= TOTAL_VALUES) { return; }
  // Last matrix whose value_start <= g (binary search; value_start[0] == 0).
  var lo = 0u;
  var hi = MATRICES - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (field(mid, 3u) <= g) { lo = mid; } else { hi = mid - 1u; }
  }
  let in_matrix = g - field(lo, 3u);
  let src = field(lo, 0u) * TOKEN_SIZE + in_matrix;   // tokens are consecutive, row-major
  let v = f32(tokens[src]) * f32(std_dev[src]) + f32(mean[src]);
  packed[field(lo, 4u) + in_matrix] = S(v);
}
