// Bundles the SDK and the demo for the browser into the server's static files:
//   <out>/roomsignal.js  the SDK (+ @microsoft/signalr) as one ES module
//   <out>/demo.js        the demo page's script
// <out> defaults to ../src/RoomSignal.Server/wwwroot/js; pass another folder as the first argument.
// The server build (RoomSignal.Server.csproj) runs this, so `dotnet build` is enough.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const defaultOutDir = path.resolve(root, '..', 'src', 'RoomSignal.Server', 'wwwroot', 'js');

const sdkAsSibling = {
  name: 'sdk-as-sibling',
  setup(b) {
    b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: './roomsignal.js', external: true }));
  },
};

export async function buildBundles(outDir = defaultOutDir) {
  const common = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    sourcemap: 'linked',
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  };
  await Promise.all([
    build({ ...common, entryPoints: { roomsignal: path.join(root, 'src', 'index.js') }, outdir: outDir }),
    // The demo imports the SDK from the sibling bundle instead of carrying a second copy of it.
    build({ ...common, entryPoints: { demo: path.join(root, 'demo', 'demo.js') }, outdir: outDir, plugins: [sdkAsSibling] }),
  ]);
  return outDir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildBundles(process.argv[2] ? path.resolve(process.argv[2]) : defaultOutDir);
  console.log(`roomsignal: bundles written to ${out}`);
}
