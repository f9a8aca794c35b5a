// Trims Uniswap V2's published artifacts (`@uniswap/v2-core` 1.0.1, `build/<Name>.json`, compiled by
// Uniswap with solc 0.5.16) to the shape of our other exports: abi and both bytecodes with a 0x
// prefix, pretty-printed with a fixed key order. The bytecode is copied as published, never rebuilt.
// Usage: node tools/export-uniswap.js <destination dir> <ContractName>...
"use strict";
const fs = require("fs");
const path = require("path");

const [destDir, ...names] = process.argv.slice(2);
if (!destDir || names.length === 0) {
  console.error("usage: export-uniswap.js <destination dir> <ContractName>...");
  process.exit(2);
}
const buildDir = path.join(__dirname, "..", "node_modules", "@uniswap", "v2-core", "build");

function hex(object, name, which) {
  if (typeof object !== "string" || !/^(0x)?[0-9a-fA-F]+$/.test(object)) {
    throw new Error(`${name}: ${which} missing or not hex (is @uniswap/v2-core installed? run contracts/setup.sh)`);
  }
  return object.startsWith("0x") ? object : `0x${object}`;
}

fs.mkdirSync(destDir, { recursive: true });
for (const name of names) {
  const artifact = JSON.parse(fs.readFileSync(path.join(buildDir, `${name}.json`), "utf8"));
  if (!Array.isArray(artifact.abi)) throw new Error(`${name}: artifact has no abi array`);
  const evm = artifact.evm || {};
  const trimmed = {
    abi: artifact.abi,
    bytecode: { object: hex(evm.bytecode && evm.bytecode.object, name, "evm.bytecode.object") },
    deployedBytecode: { object: hex(evm.deployedBytecode && evm.deployedBytecode.object, name, "evm.deployedBytecode.object") },
  };
  fs.writeFileSync(path.join(destDir, `${name}.json`), JSON.stringify(trimmed, null, 2) + "\n");
}
