/**
 * The example prompt files, made from the datasets folder (Node only; used by the Vite plugin in
 * scripts/vite-examples-plugin.ts): the held-out tasks of trainer/configs/zoo.json, each as the
 * first lines of its test split. Missing data never throws: the index says what is unavailable
 * and why, so a build without the datasets folder still succeeds.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { ExampleEntry, ExampleSkipped, ExamplesIndex } from '../src/examples/types';

/** Lines served per task: enough to sample P = 8 prompts many times, small enough for the bundle. */
export const DEFAULT_MAX_LINES = 200;

export interface ExamplesCatalog {
  index: ExamplesIndex;
  /** Served path relative to the base URL ("examples/ARC-Easy.jsonl") -> file content. */
  files: Map<string, string>;
}

interface ManifestTask {
  name?: unknown;
  kind?: unknown;
  license?: unknown;
  test_count?: unknown;
  files?: { test?: { path?: unknown } };
}

/**
 * The tasks no zoo adapter was trained on: `evaluation.loo_tasks` and every
 * `evaluation.cross_domain[].targets`, in that order, without repeats.
 */
export function heldOutTasks(zooConfig: unknown): string[] {
  const evaluation = (zooConfig as { evaluation?: { loo_tasks?: unknown; cross_domain?: unknown } } | null)?.evaluation;
  const names: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === 'string' && !names.includes(value)) names.push(value);
  };
  if (Array.isArray(evaluation?.loo_tasks)) evaluation.loo_tasks.forEach(add);
  if (Array.isArray(evaluation?.cross_domain)) {
    for (const group of evaluation.cross_domain as { targets?: unknown }[]) {
      if (Array.isArray(group?.targets)) group.targets.forEach(add);
    }
  }
  return names;
}

/** Reads trainer/configs/zoo.json (or another config) and returns its held-out tasks. */
export function heldOutTasksFromFile(configPath: string): string[] {
  return heldOutTasks(JSON.parse(readFileSync(configPath, 'utf8')) as unknown);
}

function unavailable(reason: string): ExamplesCatalog {
  return { index: { available: false, reason, examples: [], skipped: [] }, files: new Map() };
}

/** A task name usable as a file name in a URL (the manifest's names are; anything else is skipped). */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The first `maxLines` non-empty lines of a JSONL file, and how many non-empty lines it has. */
function firstLines(text: string, maxLines: number): { lines: string[]; total: number } {
  const all = text.split(/\r?\n/).filter((line) => line.trim().length > 0);
  return { lines: all.slice(0, maxLines), total: all.length };
}

/**
 * The index and files for `tasks` from `datasetsDir` (a folder with manifest.json and
 * `<Task>/test.jsonl`, the shape of shared/datasets).
 */
export function buildExamplesCatalog(options: { datasetsDir: string; tasks: readonly string[]; maxLines?: number }): ExamplesCatalog {
  const maxLines = options.maxLines ?? DEFAULT_MAX_LINES;
  const dir = resolve(options.datasetsDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return unavailable(`The datasets folder ${dir} was not found when the app was built, so no example files are included. Set DND_DATASETS to the folder and build again.`);
  }
  const manifestPath = resolve(dir, 'manifest.json');
  let manifestTasks: ManifestTask[];
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { tasks?: unknown };
    if (!Array.isArray(manifest.tasks)) throw new Error('it has no "tasks" list');
    manifestTasks = manifest.tasks as ManifestTask[];
  } catch (error) {
    return unavailable(`The datasets manifest ${manifestPath} could not be read (${error instanceof Error ? error.message : String(error)}), so no example files are included.`);
  }
  if (options.tasks.length === 0) return unavailable('The zoo configuration names no held-out tasks, so there are no example files.');

  const examples: ExampleEntry[] = [];
  const skipped: ExampleSkipped[] = [];
  const files = new Map<string, string>();
  for (const task of options.tasks) {
    const entry = manifestTasks.find((t) => t.name === task);
    if (!SAFE_NAME.test(task)) {
      skipped.push({ task, reason: 'the name cannot be used as a file name' });
      continue;
    }
    if (!entry) {
      skipped.push({ task, reason: 'not in the datasets manifest' });
      continue;
    }
    const testPath = entry.files?.test?.path;
    if (typeof testPath !== 'string') {
      skipped.push({ task, reason: 'the manifest names no test split' });
      continue;
    }
    const full = resolve(dir, testPath);
    const inside = relative(dir, full);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      skipped.push({ task, reason: 'its test split lies outside the datasets folder' });
      continue;
    }
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch {
      skipped.push({ task, reason: `${testPath} was not found` });
      continue;
    }
    const { lines, total } = firstLines(text, maxLines);
    if (lines.length === 0) {
      skipped.push({ task, reason: `${testPath} is empty` });
      continue;
    }
    const file = `examples/${task}.jsonl`;
    files.set(file, `${lines.join('\n')}\n`);
    examples.push({
      task,
      kind: typeof entry.kind === 'string' ? entry.kind : 'unknown',
      file,
      count: lines.length,
      testLines: total,
      license: typeof entry.license === 'string' ? entry.license : '',
    });
  }
  if (examples.length === 0) {
    const reasons = skipped.map((s) => `${s.task}: ${s.reason}`).join('; ');
    return { index: { available: false, reason: `None of the held-out tasks is in ${dir} (${reasons}).`, examples: [], skipped: [] }, files };
  }
  return { index: { available: true, maxLines, examples, skipped }, files };
}
