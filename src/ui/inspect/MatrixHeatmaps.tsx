import { useId, useState } from 'react';
import { getEngineClient } from '../../store/engine';
import type { AdapterMatrixViews, ModuleNorms, PooledMatrix, Pooling } from '../../worker/engineClient';
import { HeatmapCanvas } from '../viz/HeatmapCanvas';
import { useEngineQuery } from './useEngineQuery';

interface MatrixHeatmapsProps {
  adapterId: string;
  adapterName: string;
  layers: number;
  modules: readonly string[];
  norms: readonly ModuleNorms[];
}

/** A, B and ΔW of one chosen layer and module as diverging heatmaps (pooled in the worker to at most 64 x 64). */
export function MatrixHeatmaps({ adapterId, adapterName, layers, modules, norms }: MatrixHeatmapsProps) {
  const [layer, setLayer] = useState(0);
  const [module, setModule] = useState(modules[0] ?? '');
  const [pooling, setPooling] = useState<Pooling>('max-abs');
  const ids = { layer: useId(), module: useId(), pooling: useId() };
  const present = norms.find((n) => n.layer === layer && n.module === module)?.present ?? false;
  const key = present ? `${adapterId}|${layer}|${module}|${pooling}` : null;
  const query = useEngineQuery<AdapterMatrixViews>(key, () => getEngineClient().adapterMatrices(adapterId, layer, module, pooling));

  return (
    <section className="inspect-section" aria-labelledby={`${ids.layer}-heading`} data-testid="matrix-heatmaps">
      <h4 id={`${ids.layer}-heading`}>A, B and ΔW of one module</h4>
      <div className="inspect-controls">
        <div className="field">
          <label className="field-label" htmlFor={ids.layer}>Layer</label>
          <select id={ids.layer} value={layer} data-testid="heatmap-layer" onChange={(e) => setLayer(Number(e.target.value))}>
            {Array.from({ length: layers }, (_, l) => (
              <option key={l} value={l}>{l}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor={ids.module}>Module</label>
          <select id={ids.module} value={module} data-testid="heatmap-module" onChange={(e) => setModule(e.target.value)}>
            {modules.map((m) => (
              <option key={m} value={m}>{m}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor={ids.pooling}>Cells</label>
          <select id={ids.pooling} value={pooling} data-testid="heatmap-pooling" onChange={(e) => setPooling(e.target.value === 'mean' ? 'mean' : 'max-abs')}>
            <option value="max-abs">largest magnitude per block</option>
            <option value="mean">mean per block</option>
          </select>
        </div>
      </div>
      <div aria-live="polite" className="inspect-status">
        {!present && (
          <p className="inspect-empty" data-testid="heatmap-not-adapted">
            {adapterName} does not change layer {layer} {module}: it has no LoRA matrices there, so there is nothing to draw. Choose
            another layer or module.
          </p>
        )}
        {(query.state === 'loading' || (query.state === 'done' && query.stale)) && <p className="hint">Reading layer {layer} {module}…</p>}
        {query.state === 'error' && (
          <p role="alert" className="inline-alert" data-testid="heatmap-error" data-code={query.error.code}>
            {query.error.message}
          </p>
        )}
      </div>
      {query.state === 'done' && <Heatmaps views={query.value} stale={query.stale} />}
      <p className="hint">
        Blue is negative, white zero, red positive; each image has its own range (under it). Large matrices are shown in blocks
        (at most 64 x 64 cells); “largest magnitude” keeps each block’s strongest weight with its sign, “mean” averages it.
      </p>
    </section>
  );
}

function describe(m: PooledMatrix, rowsAre: string, colsAre: string): string {
  const pooled = m.rows !== m.sourceRows || m.cols !== m.sourceCols;
  return `${m.sourceRows} ${rowsAre} x ${m.sourceCols} ${colsAre}${pooled ? `, shown as ${m.rows} x ${m.cols} blocks` : ''}`;
}

function Heatmaps({ views, stale }: { views: AdapterMatrixViews; stale: boolean }) {
  const where = `layer ${views.layer} ${views.module}`;
  return (
    <div
      className={`inspect-heatmaps${stale ? ' inspect-heatmaps--stale' : ''}`} aria-busy={stale}
      data-testid="heatmap-images" data-layer={views.layer} data-module={views.module} data-pooling={views.a.pooling} data-stale={stale}
    >
      <HeatmapCanvas
        data={views.a.data} rows={views.a.rows} cols={views.a.cols} diverging size={256}
        label={`A of ${where}`} caption={describe(views.a, 'rank', 'inputs')} testId="heatmap-a"
      />
      <HeatmapCanvas
        data={views.b.data} rows={views.b.rows} cols={views.b.cols} diverging size={64}
        label={`B of ${where}`} caption={describe(views.b, 'outputs', 'rank')} testId="heatmap-b"
      />
      <HeatmapCanvas
        data={views.delta.data} rows={views.delta.rows} cols={views.delta.cols} diverging size={192}
        label={`ΔW = ${formatScale(views.scale)} · B·A of ${where}`} caption={describe(views.delta, 'outputs', 'inputs')} testId="heatmap-delta"
      />
    </div>
  );
}

function formatScale(scale: number): string {
  return Number.isInteger(scale) ? String(scale) : scale.toPrecision(3);
}
