import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'heap-settings': 'src/heap-settings.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  target: 'node20',
  // import.meta.url in the CommonJS build (src/deps.ts).
  shims: true,
});
