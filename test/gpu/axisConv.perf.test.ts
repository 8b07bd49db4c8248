/**
 * Opt-in microbenchmark of single axis convs of the release-size stand-in (bench/release-standin.json)
 * through Dawn on SwiftShader. Not a timed test: skipped unless AXIS_PERF=1, e.g.
 *   AXIS_PERF=1 npm run test:unit -- test/gpu/axisConv.perf.test.ts
 * AXIS_PERF_ONLY=name1,name2 limits the cases. Prints ms per dispatch (median) and GFLOP/s, and the
 * process's CPU time (user + system, all SwiftShader threads): steadier than wall time when other
 * jobs share the 2 cores.
 */
import { describe, it } from 'vitest';
import { createTensorBuffer, uploadTensor } from '../../src/gpu/buffers';
import { prepareAxisConv, type AxisConvArgs } from '../../src/gpu/kernels/axisConv';
import { axisConvOutputShape, channelCount, elementCount } from '../../src/gpu/shapes';
import { getTestDevice } from '../setup/webgpu';
import { randomArray, runDispatches, seededRandom } from './helpers';

const CASES: [string, AxisConvArgs][] = [
  ['L0 a_w 512->256 img(32,8)', { shape: { batch: 1, n: 8, h: 32, w: 512 }, axis: 'W', outChannels: 256, k: 3, hasBias: false }],
  ['L0 b_h 32->32 img(8,512)', { shape: { batch: 1, n: 8, h: 32, w: 512 }, axis: 'H', outChannels: 32, k: 3, hasBias: false }],
  ['L2 len 128->444 img(16,64)', { shape: { batch: 1, n: 128, h: 16, w: 64 }, axis: 'N', outChannels: 444, k: 3, hasBias: true }],
  ['L3 a_w 64->64 img(16,444)', { shape: { batch: 1, n: 444, h: 16, w: 64 }, axis: 'W', outChannels: 64, k: 3, hasBias: false }],
  ['L3 b_h 16->16 img(444,64)', { shape: { batch: 1, n: 444, h: 16, w: 64 }, axis: 'H', outChannels: 16, k: 3, hasBias: false }],
  ['L3 len 444->444 img(16,64)', { shape: { batch: 1, n: 444, h: 16, w: 64 }, axis: 'N', outChannels: 444, k: 3, hasBias: true }],
];

describe.skipIf(!process.env.AXIS_PERF)('axisConv microbenchmark (SwiftShader)', () => {
  it('times the stand-in convs', async () => {
    const gpu = await getTestDevice();
    const only = process.env.AXIS_PERF_ONLY?.split(',');
    const reps = Number(process.env.AXIS_PERF_REPS ?? 3);
    for (const [name, args] of CASES) {
      if (only && !only.some((o) => name.includes(o))) continue;
      const rand = seededRandom(1);
      const cin = channelCount(args.shape, args.axis);
      const out = axisConvOutputShape(args.shape, args.axis, args.outChannels);
      const x = uploadTensor(gpu.device, randomArray(rand, elementCount(args.shape)));
      const w = uploadTensor(gpu.device, randomArray(rand, args.outChannels * cin * args.k * args.k, 0.05));
      const bias = uploadTensor(gpu.device, randomArray(rand, args.outChannels));
      const y = createTensorBuffer(gpu.device, elementCount(out));
      const d = prepareAxisConv(gpu, args, { x, weight: w, y, ...(args.hasBias ? { bias } : {}) });
      await runDispatches(gpu, [d]);
      const times: number[] = [];
      const cpus: number[] = [];
      for (let r = 0; r < reps; r++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await runDispatches(gpu, [d]);
        times.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpus.push((c.user + c.system) / 1000);
      }
      cpus.sort((a, b) => a - b);
      const cpuMs = cpus[Math.floor(cpus.length / 2)] as number;
      times.sort((a, b) => a - b);
      const ms = times[Math.floor(times.length / 2)] as number;
      const flop = 2 * args.outChannels * cin * args.k * args.k * (elementCount(out) / args.outChannels);
      console.log(`${name.padEnd(30)} ${ms.toFixed(1).padStart(9)} ms ${(flop / ms / 1e6).toFixed(2).padStart(7)} GFLOP/s wall, CPU ${cpuMs.toFixed(0).padStart(6)} ms = ${(flop / cpuMs / 1e6).toFixed(2)} GFLOP/s per core-second (${(flop / 1e9).toFixed(3)} GFLOP)`);
      [x, w, bias, y].forEach((b) => b.destroy());
      d.destroy();
    }
  }, 1_800_000);
});
