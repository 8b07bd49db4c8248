/**
 * The one preprocessing step applied to `shaders/*.wgsl` before compilation.
 *
 * Lines of the form `// #if NAME`, `// #else`, `// #endif` (nestable, NAME a define) keep or
 * drop the lines between them. Everything else is passed through unchanged, so the files stay
 * real WGSL that an editor can read. Sizes are NOT preprocessed: they are WGSL `override`
 * constants set at pipeline creation.
 *
 * Every kernel uses the define `F16` for its storage precision, with this prologue:
 *
 *     // #if F16
 *     enable f16;
 *     alias S = f16;     // storage scalar
 *     // #else
 *     alias S = f32;
 *     // #endif
 *
 * Arithmetic is done in f32 in both variants; only storage changes.
 */
export type Defines = Readonly<Record<string, boolean>>;

const DIRECTIVE = /^\s*\/\/\s*#(if|else|endif)\b\s*(\w*)\s*$/;

export function preprocessWgsl(source: string, defines: Defines): string {
  const out: string[] = [];
  // Each frame: is this branch live, and was its parent live.
  const stack: { live: boolean; parentLive: boolean; sawElse: boolean }[] = [];
  let live = true;
  source.split('\n').forEach((line, index) => {
    const m = DIRECTIVE.exec(line);
    if (!m) {
      if (live) out.push(line);
      return;
    }
    const [, directive, name] = m;
    const where = `line ${index + 1}`;
    if (directive === 'if') {
      if (!name) throw new Error(`preprocessWgsl: "// #if" without a name at ${where}`);
      stack.push({ live, parentLive: live, sawElse: false });
      live = live && defines[name] === true;
      const top = stack[stack.length - 1];
      if (top) top.live = live;
    } else if (directive === 'else') {
      const top = stack[stack.length - 1];
      if (!top || top.sawElse) throw new Error(`preprocessWgsl: stray "// #else" at ${where}`);
      top.sawElse = true;
      live = top.parentLive && !top.live;
    } else {
      const top = stack.pop();
      if (!top) throw new Error(`preprocessWgsl: stray "// #endif" at ${where}`);
      live = top.parentLive;
    }
  });
  if (stack.length > 0) throw new Error('preprocessWgsl: unterminated "// #if"');
  return out.join('\n');
}
