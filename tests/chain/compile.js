// Compiles contracts/*.sol with solc-js (npm `solc`, a fixed version from package-lock.json)
// into contracts/build/<Name>.json ({ abi, bytecode }), which the binary embeds.
//
//   node tests/chain/compile.js           writes the build output
//   node tests/chain/compile.js --check   fails if the committed output differs
//
// The output is deterministic: fixed compiler, fixed optimizer settings, and no metadata
// hash appended to the bytecode, so the committed bytecode is provably built from the
// committed source. Imports (@openzeppelin/...) are read from this folder's node_modules.
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

const repo = path.resolve(__dirname, "..", "..");
const srcDir = path.join(repo, "contracts");
const outDir = path.join(srcDir, "build");
const modules = path.join(__dirname, "node_modules");
const check = process.argv.includes("--check");

const sources = {};
for (const file of fs.readdirSync(srcDir).sort()) {
  if (file.endsWith(".sol")) {
    sources[file] = { content: fs.readFileSync(path.join(srcDir, file), "utf8") };
  }
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none", appendCBOR: false },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};

function findImports(name) {
  const candidates = [path.join(modules, name), path.join(srcDir, name)];
  for (const file of candidates) {
    if (file.startsWith(modules + path.sep) || file.startsWith(srcDir + path.sep)) {
      if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
    }
  }
  return { error: `not found: ${name}` };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

let differs = false;
fs.mkdirSync(outDir, { recursive: true });
for (const file of Object.keys(sources)) {
  for (const [name, contract] of Object.entries(output.contracts[file] || {})) {
    const built = {
      contractName: name,
      compiler: `solc-js ${solc.version()}`,
      abi: contract.abi,
      bytecode: "0x" + contract.evm.bytecode.object,
    };
    const text = JSON.stringify(built, null, 2) + "\n";
    const target = path.join(outDir, `${name}.json`);
    if (check) {
      const committed = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
      if (committed !== text) {
        console.error(`contracts/build/${name}.json differs from what contracts/${file} compiles to`);
        differs = true;
      }
    } else {
      fs.writeFileSync(target, text);
    }
  }
}
if (differs) process.exit(1);
