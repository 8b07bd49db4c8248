import { chromium, type Browser } from 'playwright-core';

/** Flags that give headless Chromium a working WebGPU adapter on SwiftShader (no GPU needed). */
export const WEBGPU_SWIFTSHADER_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** Keep Chromium from reaching for the network on its own (this machine has none). */
const QUIET_FLAGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
];

export interface LaunchOptions {
  /** false launches Chromium with WebGPU switched off, to test the honest fallback. */
  webgpu: boolean;
  /** With WebGPU: the machine's own GPU instead of SwiftShader (benchmarks' --native). */
  native?: boolean;
}

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

/** Chromium's command-line flags for these options. */
export function chromiumArgs({ webgpu, native = false }: LaunchOptions): string[] {
  return webgpu
    ? [...(native ? ['--enable-unsafe-webgpu', '--enable-features=Vulkan'] : WEBGPU_SWIFTSHADER_FLAGS), ...QUIET_FLAGS]
    : ['--disable-webgpu', '--disable-features=WebGPU', ...QUIET_FLAGS];
}

export async function launchChromium(options: LaunchOptions): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: chromiumArgs(options) });
}
