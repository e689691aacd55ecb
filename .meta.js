const { build } = require('esbuild');
(async () => {
  const r = await build({ entryPoints: [process.argv[2]], bundle: true, platform: 'node', target: 'node22', format: 'cjs', minify: true, external: ['@aws-sdk/*'], metafile: true, write: false, logLevel: 'silent' });
  const out = Object.values(r.metafile.outputs)[0];
  const byPkg = {};
  for (const [file, info] of Object.entries(out.inputs)) {
    const m = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
    const pkg = m ? m[m.length - 1].replace(/^node_modules\/|\/$/g, '') : 'project';
    byPkg[pkg] = (byPkg[pkg] || 0) + info.bytesInOutput;
  }
  console.log('total', out.bytes);
  for (const [p, b] of Object.entries(byPkg).sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(p, (b / 1024).toFixed(1));
  if (process.argv[3]) for (const [file, info] of Object.entries(out.inputs).filter(([f]) => f.includes(process.argv[3])).sort((a,b)=>b[1].bytesInOutput-a[1].bytesInOutput).slice(0,15)) console.log(' ', file, info.bytesInOutput);
})();
