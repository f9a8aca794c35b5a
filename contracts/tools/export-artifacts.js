// Trims forge artifacts to what the Rust bindings read: `sol!(#[sol(rpc)] Name, "protocol/abi/Name.json")`
// needs the ABI and both bytecodes, nothing else. Output is pretty-printed with a fixed key order so
// the files diff cleanly and `--check` can compare them byte for byte.
// Usage: node tools/export-artifacts.js <forge out dir> <destination dir> <ContractName>...
"use strict";
const fs = require("fs");
const path = require("path");

const [outDir, destDir, ...names] = process.argv.slice(2);
if (!outDir || !destDir || names.length === 0) {
  console.error("usage: export-artifacts.js <forge out dir> <destination dir> <ContractName>...");
  process.exit(2);
}

function findArtifact(name) {
  const matches = fs
    .readdirSync(outDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.endsWith(".sol"))
    .map((entry) => path.join(outDir, entry.name, `${name}.json`))
    .filter((candidate) => fs.existsSync(candidate));
  if (matches.length !== 1) {
    throw new Error(
      `expected exactly one forge artifact for ${name} under ${outDir}, found ${matches.length}` +
        (matches.length ? `: ${matches.join(", ")}` : " (did `./forge.sh build` run?)"),
    );
  }
  return matches[0];
}

function bytecodeObject(field, name, which) {
  const object = field && field.object;
  if (typeof object !== "string" || !object.startsWith("0x")) {
    throw new Error(`${name}: ${which}.object missing or not 0x-prefixed hex`);
  }
  if (object.includes("__$")) {
    throw new Error(`${name}: ${which} has unlinked library placeholders; link or inline the library`);
  }
  return object;
}

fs.mkdirSync(destDir, { recursive: true });
for (const name of names) {
  const artifact = JSON.parse(fs.readFileSync(findArtifact(name), "utf8"));
  if (!Array.isArray(artifact.abi)) throw new Error(`${name}: artifact has no abi array`);
  const trimmed = {
    abi: artifact.abi,
    bytecode: { object: bytecodeObject(artifact.bytecode, name, "bytecode") },
    deployedBytecode: { object: bytecodeObject(artifact.deployedBytecode, name, "deployedBytecode") },
  };
  fs.writeFileSync(path.join(destDir, `${name}.json`), JSON.stringify(trimmed, null, 2) + "\n");
}
