/**
 * Random-weight version-2 generators for the real base (trainer/fixtures/random_release_v2.py, never
 * shipped), written for e2e files that need a generator with a particular manifest (gate kind,
 * examples section) rather than the committed release.
 */
import { execFileSync } from 'node:child_process';

/** Writes one under `out` (generator.json + generator.safetensors); `extra` are the fixture's flags. */
export function writeRandomV2Generator(out: string, extra: string[] = [], schedule = 'bench/tiny-standin.json'): void {
  execFileSync('/usr/bin/python3', ['-m', 'trainer.fixtures.random_release_v2', '--schedule', schedule, '--base', 'models/base', '--out', out, ...extra],
    { stdio: 'inherit' });
}
