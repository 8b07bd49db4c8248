/**
 * GPU time of compute passes via `timestamp-query` (acquireDevice requests it when offered).
 * Usage: `timer.timestampWrites(i)` in beginComputePass (or recordSequence), `timer.resolve(encoder)`
 * after the last pass, submit, then `await timer.read()` for the milliseconds of each pass.
 */
export class PassTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private readonly readBuffer: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    readonly passes: number,
  ) {
    if (!device.features.has('timestamp-query')) {
      throw new Error('PassTimer needs the "timestamp-query" feature; check GpuContext.timestampQuery first');
    }
    const bytes = passes * 2 * 8;
    this.querySet = device.createQuerySet({ type: 'timestamp', count: passes * 2 });
    this.resolveBuffer = device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readBuffer = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** Timestamps for pass `index` (begin and end). */
  timestampWrites(index: number): GPUComputePassTimestampWrites {
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 };
  }

  resolve(encoder: GPUCommandEncoder): void {
    encoder.resolveQuerySet(this.querySet, 0, this.passes * 2, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, this.readBuffer, 0, this.resolveBuffer.size);
  }

  /** Milliseconds per pass, after the encoder with `resolve` was submitted. */
  async read(): Promise<number[]> {
    await this.readBuffer.mapAsync(GPUMapMode.READ);
    const ticks = new BigInt64Array(this.readBuffer.getMappedRange().slice(0));
    this.readBuffer.unmap();
    const out: number[] = [];
    for (let i = 0; i < this.passes; i++) out.push(Number((ticks[2 * i + 1] ?? 0n) - (ticks[2 * i] ?? 0n)) / 1e6);
    return out;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
    this.readBuffer.destroy();
  }
}
