#!/usr/bin/env node
// Compile every contracts/src/**/*.sol with the pinned solc (npm `solc`, see package.json)
// through standard JSON, and write one deterministic artifact per deployable contract.
//
// Why this shape: Python users must not need Node, so the artifacts are committed and
// loaded by oracle/artifacts.py. They therefore have to be reproducible byte for byte
// (tests recompile and compare): sorted keys, 2-space indent, trailing newline, a fixed
// settings object, and `metadata.bytecodeHash: "none"` so the bytecode carries no hash of
// file paths or metadata.
//
// Usage (from contracts/):   npm ci && node compile.cjs [OUT_DIR]
// OUT_DIR defaults to ./artifacts. The output directory belongs to this script: artifacts
// of contracts that no longer exist are removed from it (only files that look like our
// artifacts are touched).
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const solc = require("solc");

const ROOT = __dirname;
const SRC_DIR = path.join(ROOT, "src");
const DEFAULT_OUT_DIR = path.join(ROOT, "artifacts");

// The pinned compiler settings. Recorded verbatim in every artifact.
const SETTINGS = {
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none" },
  optimizer: { enabled: true, runs: 200 },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
  remappings: [],
  viaIR: false,
};

// Every *.sol under dir, as paths relative to ROOT with "/" separators, sorted so the
// standard-JSON input (and thus any compiler output ordering) is stable.
function findSources(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith(".sol")) {
        out.push(path.relative(ROOT, full).split(path.sep).join("/"));
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

// Imports that are not among our sources (e.g. "@openzeppelin/contracts/...") resolve from
// node_modules next to this script; the source unit name stays the import path, so it does
// not depend on where the checkout lives.
function findImports(importPath) {
  const candidate = path.join(ROOT, "node_modules", importPath);
  if (!path.resolve(candidate).startsWith(path.join(ROOT, "node_modules") + path.sep)) {
    return { error: `import escapes node_modules: ${importPath}` };
  }
  try {
    return { contents: fs.readFileSync(candidate, "utf8") };
  } catch {
    return { error: `file not found: ${importPath} (looked in ${candidate})` };
  }
}

// JSON with object keys sorted at every level, 2-space indent, trailing newline.
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

function stableJson(value) {
  return JSON.stringify(sortKeys(value), null, 2) + "\n";
}

function printDiagnostic(d) {
  const text = (d.formattedMessage || `${d.severity}: ${d.message}`).trimEnd();
  process.stderr.write(text + "\n\n");
}

function isOurArtifact(file) {
  try {
    const data = JSON.parse(fs.readFileSync(file, "utf8"));
    return data !== null && typeof data === "object" && "contractName" in data && "compiler" in data;
  } catch {
    return false;
  }
}

function main(argv) {
  const outDir = path.resolve(argv[0] || DEFAULT_OUT_DIR);
  const sourceNames = findSources(SRC_DIR);
  const sources = {};
  const digests = {};
  for (const name of sourceNames) {
    const bytes = fs.readFileSync(path.join(ROOT, name));
    sources[name] = { content: bytes.toString("utf8") };
    digests[name] = crypto.createHash("sha256").update(bytes).digest("hex");
  }

  const artifacts = new Map();
  if (sourceNames.length > 0) {
    const input = { language: "Solidity", sources, settings: SETTINGS };
    const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
    const diagnostics = output.errors || [];
    for (const d of diagnostics) {
      if (d.severity !== "error") printDiagnostic(d);
    }
    const errors = diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) {
      for (const d of errors) printDiagnostic(d);
      process.stderr.write(`compile.cjs: ${errors.length} error(s); no artifacts written\n`);
      return 1;
    }
    for (const sourceName of sourceNames) {
      const contracts = (output.contracts || {})[sourceName] || {};
      for (const contractName of Object.keys(contracts).sort()) {
        const c = contracts[contractName];
        // Interfaces and abstract contracts have no bytecode: nothing to deploy.
        if (!c.evm.bytecode.object) continue;
        if (artifacts.has(contractName)) {
          process.stderr.write(
            `compile.cjs: contract name ${contractName} is defined in both ` +
              `${artifacts.get(contractName).sourceName} and ${sourceName}; ` +
              "artifacts are keyed by contract name, so names must be unique\n",
          );
          return 1;
        }
        artifacts.set(contractName, {
          abi: c.abi,
          bytecode: "0x" + c.evm.bytecode.object,
          compiler: { settings: SETTINGS, version: solc.version() },
          contractName,
          deployedBytecode: "0x" + c.evm.deployedBytecode.object,
          sourceName,
          sourceSha256: digests[sourceName],
        });
      }
    }
  }

  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, artifact] of artifacts) {
    const file = path.join(outDir, `${name}.json`);
    const text = stableJson(artifact);
    // Leave unchanged files alone so their mtimes stay meaningful.
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) {
      fs.writeFileSync(file, text);
    }
  }
  let removed = 0;
  for (const entry of fs.readdirSync(outDir)) {
    if (!entry.endsWith(".json") || artifacts.has(entry.slice(0, -".json".length))) continue;
    const file = path.join(outDir, entry);
    if (isOurArtifact(file)) {
      fs.unlinkSync(file);
      removed += 1;
    }
  }
  process.stdout.write(
    `compile.cjs: solc ${solc.version()}, ${sourceNames.length} source(s), ` +
      `${artifacts.size} artifact(s) in ${path.relative(process.cwd(), outDir) || "."}` +
      (removed ? `, ${removed} stale removed` : "") +
      "\n",
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
