// Builds the web app into ../internal/webui/assets, which customerd embeds:
// index.html, app-HASH.js, app-HASH.css and licenses.txt (the licences of
// the bundled packages). The output depends only on the sources and the
// pinned esbuild: the same sources give byte-identical files, which CI
// checks against the committed ones.
//
// It also copies the REST API's documentation page into
// ../internal/apidoc/viewer: src/docs and the pinned swagger-ui-dist's
// bundle, stylesheet and licence, as they are (CI checks them too).
//
// Usage: node build.mjs [outdir [docsdir]]   (npm run build)

import * as esbuild from "esbuild";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(process.argv[2] ?? path.join(here, "../internal/webui/assets"));
const docsdir = path.resolve(process.argv[3] ?? path.join(here, "../internal/apidoc/viewer"));

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/main.ts"],
  entryNames: "app-[hash]",
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  legalComments: "none", // licenses.txt carries them
  metafile: true,
  write: false,
  outdir: "out", // only names the outputs; nothing is written there
  logLevel: "warning",
});

const files = new Map(); // name -> contents
for (const out of result.outputFiles) {
  files.set(path.basename(out.path), out.contents);
}
const named = (ext) => [...files.keys()].find((n) => n.endsWith(ext));

const html = await readFile(path.join(here, "src/index.html"), "utf8");
files.set("index.html", html.replace("{{app.js}}", named(".js")).replace("{{app.css}}", named(".css")));

// The licence of every package that ended up in the bundle.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) packages.add(m[1]);
}
let licenses = "The customerd web app bundles these packages.\n";
for (const pkg of [...packages].sort()) {
  const dir = path.join(here, "node_modules", pkg);
  const { version, license } = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8"));
  licenses += `\n==== ${pkg} ${version} (${license})\n\n`;
  const text = (await readdir(dir)).find((n) => /^licen[cs]e/i.test(n));
  licenses += text ? await readFile(path.join(dir, text), "utf8") : "The package ships no licence file; its package.json names the licence above.\n";
}
files.set("licenses.txt", licenses);

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
for (const [name, contents] of files) {
  await writeFile(path.join(outdir, name), contents);
}
for (const [name, contents] of [...files].sort()) {
  console.log(`${String(contents.length).padStart(8)}  ${path.relative(process.cwd(), path.join(outdir, name))}`);
}

// The documentation page: ours, and Swagger UI's files copied unchanged.
const swagger = path.join(here, "node_modules/swagger-ui-dist");
const { version: swaggerVersion } = JSON.parse(await readFile(path.join(swagger, "package.json"), "utf8"));
const docs = new Map([
  ["index.html", await readFile(path.join(here, "src/docs/index.html"))],
  ["docs.js", await readFile(path.join(here, "src/docs/docs.js"))],
  ["swagger-ui-bundle.js", await readFile(path.join(swagger, "swagger-ui-bundle.js"))],
  ["swagger-ui.css", await readFile(path.join(swagger, "swagger-ui.css"))],
  [
    "licenses.txt",
    `The customerd API documentation page uses swagger-ui-dist ${swaggerVersion} (Apache-2.0).\n\n` +
      (await readFile(path.join(swagger, "LICENSE"), "utf8")) +
      "\n" +
      (await readFile(path.join(swagger, "NOTICE"), "utf8")) +
      "\n" +
      (await readFile(path.join(swagger, "swagger-ui-bundle.js.LICENSE.txt"), "utf8")),
  ],
]);
await rm(docsdir, { recursive: true, force: true });
await mkdir(docsdir, { recursive: true });
for (const [name, contents] of docs) {
  await writeFile(path.join(docsdir, name), contents);
}
for (const [name, contents] of [...docs].sort()) {
  console.log(`${String(contents.length).padStart(8)}  ${path.relative(process.cwd(), path.join(docsdir, name))}`);
}
