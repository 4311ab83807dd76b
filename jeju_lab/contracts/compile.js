#!/usr/bin/env node
// Compiles src/*.sol with the pinned solcjs (node_modules/solc) through its standard-JSON interface and
// writes artifacts/<Name>.json ({contractName, sourceName, compiler, abi, bytecode, deployedBytecode}).
// Usage: node compile.js [--out <dir>]   (default: the artifacts/ folder next to this script)
'use strict';

const fs = require('fs');
const path = require('path');

const here = __dirname;
const projectRoot = path.resolve(here, '..', '..');
const solc = require(path.join(projectRoot, 'node_modules', 'solc'));

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

function parseOutDir(argv) {
  const index = argv.indexOf('--out');
  if (index === -1) return path.join(here, 'artifacts');
  if (!argv[index + 1]) throw new Error('--out needs a directory');
  return path.resolve(argv[index + 1]);
}

function readSources() {
  const srcDir = path.join(here, 'src');
  const sources = {};
  for (const file of fs.readdirSync(srcDir).filter((name) => name.endsWith('.sol')).sort()) {
    sources[file] = { content: fs.readFileSync(path.join(srcDir, file), 'utf8') };
  }
  return sources;
}

function main() {
  const outDir = parseOutDir(process.argv.slice(2));
  const input = { language: 'Solidity', sources: readSources(), settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const problems = output.errors || [];
  for (const problem of problems) process.stderr.write(problem.formattedMessage + '\n');
  if (problems.some((problem) => problem.severity === 'error')) process.exit(1);

  fs.mkdirSync(outDir, { recursive: true });
  const written = [];
  for (const [sourceName, contracts] of Object.entries(output.contracts)) {
    for (const [contractName, compiled] of Object.entries(contracts)) {
      if (compiled.evm.bytecode.object === '') continue; // interfaces
      const artifact = {
        contractName,
        sourceName,
        compiler: 'solc-' + solc.version(),
        settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion },
        abi: compiled.abi,
        bytecode: '0x' + compiled.evm.bytecode.object,
        deployedBytecode: '0x' + compiled.evm.deployedBytecode.object,
      };
      fs.writeFileSync(path.join(outDir, contractName + '.json'), JSON.stringify(artifact, null, 2) + '\n');
      written.push(contractName);
    }
  }
  process.stdout.write('compiled ' + written.sort().join(', ') + ' with solc ' + solc.version() + '\n');
}

main();
