/**
 * The download sizes the README quotes are the ones reports/bench-load.json measured (on the dev
 * server and on the static build): rerunning `npm run bench:load` with other bytes fails here until
 * the README says them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Sizes { first_visit_bytes: number; model_files: number; wasm: number; scripts_and_page: number }

const report = JSON.parse(readFileSync('reports/bench-load.json', 'utf8')) as { first_visit: { dev: Sizes; preview: Sizes } };
const readme = readFileSync('README.md', 'utf8').replace(/\s+/g, ' ');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

describe('README download sizes', () => {
  it('quotes the static build\'s first visit as measured', () => {
    const p = report.first_visit.preview;
    expect(readme).toContain(`The first load downloads ${mb(p.first_visit_bytes)} from the static build`);
    expect(readme).toContain(`${mb(p.model_files)} of model files`);
    expect(readme).toContain(`${mb(p.wasm)} of onnxruntime's WebAssembly, ${mb(p.scripts_and_page)} of scripts and page`);
  });

  it('quotes the dev server\'s first visit as measured', () => {
    const d = report.first_visit.dev;
    expect(readme).toContain(`${mb(d.first_visit_bytes)} from \`npm start\`'s dev server`);
    expect(readme).toContain(`(${(d.model_files / 1e6).toFixed(1)} + ${(d.wasm / 1e6).toFixed(1)} + ${(d.scripts_and_page / 1e6).toFixed(1)} MB)`);
  });
});
