// Builds the window's page into dist/: the TypeScript bundled by esbuild, the NHS.UK
// design system compiled from its Sass with remote fonts switched off (the CSP allows
// nothing remote, and nothing may be fetched at run time), its icons copied locally.
import * as esbuild from "esbuild";
import * as sass from "sass";
import { cpSync, mkdirSync, rmSync, writeFileSync, copyFileSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });

await esbuild.build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2021",
  outfile: "dist/app.js",
  legalComments: "none",
  logLevel: "warning",
});

const css = sass.compile("styles/app.scss", {
  loadPaths: ["node_modules"],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
if (/url\(\s*["']?https?:/i.test(css.css)) {
  throw new Error("the stylesheet refers to a remote URL");
}
writeFileSync("dist/app.css", css.css);
copyFileSync("index.html", "dist/index.html");
cpSync("node_modules/nhsuk-frontend/dist/nhsuk/assets/images", "dist/assets/images", {
  recursive: true,
});
console.log("ui: built dist/ (app.js, app.css, index.html, assets/images)");
