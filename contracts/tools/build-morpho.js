// Compiles Morpho Blue (node_modules/@morpho-org/morpho-blue, unchanged) with its own compiler, solcjs
// 0.8.19 (the npm alias `solc-0.8.19`), and writes out-morpho/Morpho.json: abi, bytecode and
// deployedBytecode, the trimmed format of protocol/abi. Forge cannot do this itself here: it runs one
// solc wrapper with auto-detection off, and Morpho.sol pins `pragma solidity 0.8.19` exactly while our
// contracts use 0.8.28. Everything else of Morpho's that we use (interfaces, math libraries) is
// `^0.8.0`/`>=0.5.0` and compiles with forge as usual.
//
// Settings follow Morpho's own release build (its foundry.toml and hardhat config at v1.0.0): via-IR,
// optimizer on with 999,999 runs, the compiler's default EVM version for 0.8.19 (paris). Metadata is
// left out of the bytecode (no hash, no CBOR), as for our own contracts, so the artifact is identical
// on every machine and the Rust side can embed it. A stamp over the compiler version, this script
// and Morpho's sources skips the ~10 s compile when nothing changed.
//
// Usage: node tools/build-morpho.js [destination dir, default out-morpho] [--quiet]
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const here = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const quiet = args.includes("--quiet");
const destDir = path.resolve(here, args.find((arg) => !arg.startsWith("--")) || "out-morpho");
const packageDir = path.join(here, "node_modules", "@morpho-org", "morpho-blue");
const compilerDir = path.join(here, "node_modules", "solc-0.8.19");
const EXPECTED_VERSION = "0.8.19";
// The contracts compiled, as `<source unit>:<contract>` → artifact name.
const TARGETS = { "src/Morpho.sol": ["Morpho"] };

function fail(message) {
  console.error(`build-morpho: ${message}`);
  process.exit(1);
}

if (!fs.existsSync(path.join(packageDir, "src", "Morpho.sol"))) {
  fail(`${packageDir}/src/Morpho.sol not found; run contracts/setup.sh`);
}
if (!fs.existsSync(path.join(compilerDir, "soljson.js"))) {
  fail(`${compilerDir}/soljson.js not found; run contracts/setup.sh`);
}

/// Every Solidity file of the package (Morpho.sol imports a handful; the stamp covers them all).
function listSources(dir, prefix = "") {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...listSources(path.join(dir, entry.name), relative));
    else if (entry.name.endsWith(".sol")) found.push(relative);
  }
  return found;
}

const sourceNames = listSources(path.join(packageDir, "src"), "src");
const sources = {};
for (const name of sourceNames) {
  sources[name] = { content: fs.readFileSync(path.join(packageDir, name), "utf8") };
}

const compilerVersion = JSON.parse(fs.readFileSync(path.join(compilerDir, "package.json"), "utf8")).version;
if (compilerVersion !== EXPECTED_VERSION) {
  fail(`node_modules/solc-0.8.19 is solc ${compilerVersion}, expected ${EXPECTED_VERSION}; run contracts/setup.sh`);
}
const packageVersion = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")).version;

const input = {
  language: "Solidity",
  sources: Object.fromEntries(Object.keys(TARGETS).map((name) => [name, sources[name]])),
  settings: {
    viaIR: true,
    optimizer: { enabled: true, runs: 999999 },
    evmVersion: "paris",
    metadata: { bytecodeHash: "none", appendCBOR: false },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

const stampHash = crypto.createHash("sha256");
stampHash.update(`solc ${compilerVersion}\nmorpho-blue ${packageVersion}\n`);
stampHash.update(fs.readFileSync(__filename));
stampHash.update(JSON.stringify(input.settings));
for (const name of sourceNames) stampHash.update(`${name}\n${sources[name].content}`);
const stamp = stampHash.digest("hex");

const artifactNames = Object.values(TARGETS).flat();
const stampFile = path.join(destDir, ".stamp");
const upToDate =
  fs.existsSync(stampFile) &&
  fs.readFileSync(stampFile, "utf8").trim() === stamp &&
  artifactNames.every((name) => fs.existsSync(path.join(destDir, `${name}.json`)));
if (upToDate) process.exit(0);

if (!quiet) console.error(`build-morpho: compiling Morpho Blue ${packageVersion} with solc ${compilerVersion} (via-IR)...`);
const solc = require(compilerDir);
function findImports(importPath) {
  if (sources[importPath]) return { contents: sources[importPath].content };
  return { error: `build-morpho: import ${importPath} is not a source of @morpho-org/morpho-blue` };
}
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((error) => error.severity === "error");
if (errors.length > 0) fail(errors.map((error) => error.formattedMessage || error.message).join("\n"));

fs.mkdirSync(destDir, { recursive: true });
for (const [unit, contracts] of Object.entries(TARGETS)) {
  for (const name of contracts) {
    const compiled = output.contracts && output.contracts[unit] && output.contracts[unit][name];
    if (!compiled) fail(`no output for ${unit}:${name}`);
    const trimmed = {
      abi: compiled.abi,
      bytecode: { object: `0x${compiled.evm.bytecode.object}` },
      deployedBytecode: { object: `0x${compiled.evm.deployedBytecode.object}` },
    };
    if (trimmed.bytecode.object.length <= 2) fail(`${name}: empty bytecode`);
    const file = path.join(destDir, `${name}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(trimmed, null, 2) + "\n");
    fs.renameSync(`${file}.tmp`, file);
  }
}
fs.writeFileSync(stampFile, `${stamp}\n`);
if (!quiet) console.error(`build-morpho: wrote ${artifactNames.map((name) => `${name}.json`).join(", ")} to ${path.relative(here, destDir) || "."}`);
