// Residual connection of a HyperConvBlock: y = a + b elementwise (out of place), or, with the
// define IN_PLACE, a += b (binding 0 read_write, no binding 2) so the block can update x in place.
// #if F16
enable f16;
alias S = f16;
// #else
alias S = f32;
// #endif

override TOTAL: u32;
override WG: u32 = 256;

// #if IN_PLACE
@group(0) @binding(0) var<storage, read_write> a: array<S>;
@group(0) @binding(1) var<storage, read> b: array<S>;
// #else
@group(0) @binding(0) var<storage, read> a: array<S>;
@group(0) @binding(1) var<storage, read> b: array<S>;
@group(0) @binding(2) var<storage, read_write> y: array<S>;
// #endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= TOTAL) { return; }
  let v = S(f32(a[i]) + f32(b[i]));
  // #if IN_PLACE
  a[i] = v;
  // #else
  y[i] = v;
  // #endif
}
