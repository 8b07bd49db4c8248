/**
 * The example prompt files: the held-out tasks of the zoo configuration, the listing made from a
 * datasets folder (test/fixtures/datasets-mini: two made-up tasks in the shape of shared/datasets),
 * what happens when data is missing, and the Vite plugin in a real build and dev server.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build, createServer } from 'vite';
import { buildExamplesCatalog, heldOutTasks, heldOutTasksFromFile } from '../../scripts/examples-catalog';
import { examplesPlugin } from '../../scripts/vite-examples-plugin';
import type { ExamplesIndex } from '../../src/examples/types';

const FIXTURE = resolve('test/fixtures/datasets-mini');
const ZOO = resolve('trainer/configs/zoo.json');
const temps: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dnd-examples-test-'));
  temps.push(dir);
  return dir;
}

function fixtureLines(task: string): string[] {
  return readFileSync(join(FIXTURE, task, 'test.jsonl'), 'utf8').trim().split('\n');
}

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('held-out tasks', () => {
  it('are the leave-one-out tasks then the cross-domain targets of trainer/configs/zoo.json', () => {
    const tasks = heldOutTasksFromFile(ZOO);
    expect(tasks.slice(0, 9)).toEqual(['ARC-Challenge', 'ARC-Easy', 'BoolQ', 'OpenBookQA', 'PIQA', 'WinoGrande', 'HellaSwag', 'SocialIQA', 'CommonsenseQA']);
    expect(tasks.slice(9)).toEqual(['GSM8K', 'SciQ', 'MMLU-STEM']);
  });

  it('skips repeats and anything that is not a name', () => {
    expect(heldOutTasks({ evaluation: { loo_tasks: ['A', 'B', 3], cross_domain: [{ targets: ['B', 'C'] }, { name: 'x' }] } })).toEqual(['A', 'B', 'C']);
    expect(heldOutTasks(null)).toEqual([]);
    expect(heldOutTasks({})).toEqual([]);
  });
});

describe('buildExamplesCatalog', () => {
  it('lists the held-out tasks found in the folder with kind, count and file, and says why the others are skipped', () => {
    const { index, files } = buildExamplesCatalog({ datasetsDir: FIXTURE, tasks: heldOutTasksFromFile(ZOO) });
    expect(index.available).toBe(true);
    if (!index.available) return;
    expect(index.maxLines).toBe(200);
    expect(index.examples.map((e) => [e.task, e.kind, e.file, e.count, e.testLines])).toEqual([
      ['ARC-Easy', 'mcq', 'examples/ARC-Easy.jsonl', 12, 12],
      ['GSM8K', 'math', 'examples/GSM8K.jsonl', 9, 9],
    ]);
    expect(index.examples[0]?.license).toContain('made-up');
    expect(index.skipped).toHaveLength(10);
    expect(index.skipped.find((s) => s.task === 'BoolQ')?.reason).toBe('not in the datasets manifest');
    expect([...files.keys()]).toEqual(['examples/ARC-Easy.jsonl', 'examples/GSM8K.jsonl']);
    expect(files.get('examples/GSM8K.jsonl')).toBe(`${fixtureLines('GSM8K').join('\n')}\n`);
  });

  it('serves only the first maxLines lines of the test split', () => {
    const { index, files } = buildExamplesCatalog({ datasetsDir: FIXTURE, tasks: ['ARC-Easy'], maxLines: 5 });
    expect(index.available && index.examples[0]).toMatchObject({ count: 5, testLines: 12 });
    const served = files.get('examples/ARC-Easy.jsonl')!.trim().split('\n');
    expect(served).toEqual(fixtureLines('ARC-Easy').slice(0, 5));
    // each line is still a JSON record with the prompt the reader takes
    expect((JSON.parse(served[0]!) as { prompt: string }).prompt).toContain('Made-up question 1');
  });

  it('says the folder is missing instead of failing', () => {
    const missing = join(tempDir(), 'nothing-here');
    const { index, files } = buildExamplesCatalog({ datasetsDir: missing, tasks: ['ARC-Easy'] });
    expect(index).toEqual({ available: false, reason: expect.stringContaining(missing), examples: [], skipped: [] });
    expect(index.available === false && index.reason).toContain('DND_DATASETS');
    expect(files.size).toBe(0);
  });

  it('says the manifest is unreadable', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'manifest.json'), '{ not json');
    const { index } = buildExamplesCatalog({ datasetsDir: dir, tasks: ['ARC-Easy'] });
    expect(index.available).toBe(false);
    expect(index.available === false && index.reason).toMatch(/manifest\.json could not be read/);
  });

  it('skips a task whose file is missing or lies outside the folder, and is unavailable when none is left', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'Real'));
    writeFileSync(join(dir, 'Real', 'test.jsonl'), '{"prompt":"one"}\n\n{"prompt":"two"}\n');
    const task = (name: string, path: string) => ({ name, kind: 'generation', license: 'x', files: { test: { path } } });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ tasks: [task('Real', 'Real/test.jsonl'), task('Gone', 'Gone/test.jsonl'), task('Escape', '../outside.jsonl')] }));
    const { index, files } = buildExamplesCatalog({ datasetsDir: dir, tasks: ['Real', 'Gone', 'Escape', '../bad'] });
    expect(index.available && index.examples.map((e) => [e.task, e.count])).toEqual([['Real', 2]]);
    expect(index.skipped).toEqual([
      { task: 'Gone', reason: 'Gone/test.jsonl was not found' },
      { task: 'Escape', reason: 'its test split lies outside the datasets folder' },
      { task: '../bad', reason: 'the name cannot be used as a file name' },
    ]);
    expect(files.get('examples/Real.jsonl')).toBe('{"prompt":"one"}\n{"prompt":"two"}\n');

    const none = buildExamplesCatalog({ datasetsDir: dir, tasks: ['Gone'] });
    expect(none.index.available).toBe(false);
    expect(none.index.available === false && none.index.reason).toContain('Gone: Gone/test.jsonl was not found');
  });
});

describe('examplesPlugin', () => {
  function tinyApp(): string {
    const root = tempDir();
    writeFileSync(join(root, 'index.html'), '<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>');
    writeFileSync(join(root, 'main.js'), 'document.body.textContent = "tiny";\n');
    return root;
  }

  it('emits the index and the files into the bundle, and an unavailable index without the folder', async () => {
    const root = tinyApp();
    const outDir = join(root, 'dist');
    await build({ root, configFile: false, logLevel: 'silent', plugins: [examplesPlugin({ datasetsDir: FIXTURE, zooConfig: ZOO })], build: { outDir } });
    const index = JSON.parse(readFileSync(join(outDir, 'examples/index.json'), 'utf8')) as ExamplesIndex;
    expect(index.available && index.examples.map((e) => e.task)).toEqual(['ARC-Easy', 'GSM8K']);
    expect(readFileSync(join(outDir, 'examples/ARC-Easy.jsonl'), 'utf8')).toBe(`${fixtureLines('ARC-Easy').join('\n')}\n`);

    const outMissing = join(root, 'dist-missing');
    await build({ root, configFile: false, logLevel: 'silent', plugins: [examplesPlugin({ datasetsDir: join(root, 'no-datasets'), zooConfig: ZOO })], build: { outDir: outMissing } });
    const missing = JSON.parse(readFileSync(join(outMissing, 'examples/index.json'), 'utf8')) as ExamplesIndex;
    expect(missing.available).toBe(false);
    expect(existsSync(join(outMissing, 'examples/ARC-Easy.jsonl'))).toBe(false);
  });

  it('reads DND_DATASETS when no folder is given, and the dev server serves the same files', async () => {
    const root = tinyApp();
    const before = process.env.DND_DATASETS;
    process.env.DND_DATASETS = FIXTURE;
    const server = await createServer({ root, configFile: false, logLevel: 'silent', plugins: [examplesPlugin({ zooConfig: ZOO })], server: { port: 0, host: '127.0.0.1' } });
    try {
      await server.listen();
      const url = server.resolvedUrls?.local[0];
      expect(url).toBeTruthy();
      const index = (await (await fetch(new URL('examples/index.json', url))).json()) as ExamplesIndex;
      expect(index.available && index.examples.map((e) => [e.task, e.count])).toEqual([['ARC-Easy', 12], ['GSM8K', 9]]);
      const file = await fetch(new URL('examples/GSM8K.jsonl', url));
      expect(file.status).toBe(200);
      expect(await file.text()).toBe(`${fixtureLines('GSM8K').join('\n')}\n`);
      expect((await fetch(new URL('examples/BoolQ.jsonl', url))).status).toBe(404);
    } finally {
      await server.close();
      if (before === undefined) delete process.env.DND_DATASETS;
      else process.env.DND_DATASETS = before;
    }
  });
});
