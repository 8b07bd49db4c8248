/** Small formatting helpers for the Prompts screen. */

/** "512 B", "822.6 kB", "57.0 MB": SI units (1 MB = 10^6 bytes), as network panels and hosting bills count. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function formatCount(value: number): string {
  return value.toLocaleString('en');
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}
