#!/usr/bin/env node
// The tee-signer devnet: real BABE + GRANDPA validators on loopback, some on
// local keystores ("cloud"), some on tee-signer (soft TEE), one of them run by
// a redundant pair of nodes sharing one signer. It kills one signer with
// SIGKILL mid-run, restarts it, and checks what an operator would: the chain
// kept finalizing, the TEE validators authored and voted, the killed one came
// back, and nobody equivocated. Run through demo/devnet.sh (which builds what
// it needs); docs/devnet.md explains the output.
//
// Only Node.js's standard library: fetch for JSON-RPC and Prometheus.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    'node-bin': { type: 'string' },
    'signer-bin': { type: 'string' },
    dir: { type: 'string' },
    validators: { type: 'string', default: '4' },
    minutes: { type: 'string', default: '6' },
    'kill-at': { type: 'string', default: '120' },
    'down-for': { type: 'string', default: '30' },
    'base-port': { type: 'string', default: '30500' },
    keep: { type: 'boolean', default: false },
  },
});

const runSeconds = Number(opt.minutes) * 60;
const validatorCount = Number(opt.validators);
if (!(validatorCount >= 4 && validatorCount <= 6)) {
  console.error('devnet: --validators must be 4, 5 or 6 (dev accounts alice .. ferdie)');
  process.exit(2);
}
const killAt = Number(opt['kill-at']);
const downFor = Number(opt['down-for']);
const basePort = Number(opt['base-port']);
if (!opt['node-bin'] || !opt['signer-bin']) {
  console.error('usage: devnet.mjs --node-bin PATH --signer-bin PATH [--validators N] [--minutes N] [--kill-at S] [--down-for S] [--dir DIR]');
  process.exit(2);
}
if (!(killAt + downFor < runSeconds - 60)) {
  console.error('devnet: --kill-at + --down-for must leave at least 60 s of the run after the restart');
  process.exit(2);
}
const workDir = opt.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tee-devnet-'));
fs.mkdirSync(workDir, { recursive: true });
const started = Date.now();
const elapsed = () => (Date.now() - started) / 1000;
const stamp = () => `[${elapsed().toFixed(0).padStart(4)}s]`;
const log = (...a) => console.log(stamp(), ...a);

// ---------------------------------------------------------------- signers --

class Signer {
  constructor(name, index) {
    this.name = name;
    this.dir = path.join(workDir, name);
    this.socket = path.join(this.dir, 'signer.sock');
    this.port = basePort + 100 + index;
    this.base = {}; // counters of earlier (killed) processes
    this.last = {};
    fs.mkdirSync(this.dir, { recursive: true });
  }

  start() {
    const out = fs.openSync(path.join(this.dir, 'signer.log'), 'a');
    this.proc = spawn(opt['signer-bin'], [
      'serve', '--data-dir', path.join(this.dir, 'data'), '--unix-socket', this.socket,
      '--rpc-port', String(this.port),
    ], { stdio: ['ignore', out, out] });
    this.proc.on('exit', (code, signal) => { this.proc = null; this.exit = { code, signal }; });
  }

  async ready() {
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${this.port}/health`);
        if (r.ok) return;
      } catch { /* not up yet */ }
      if (!this.proc) throw new Error(`${this.name} exited: ${JSON.stringify(this.exit)}`);
      await sleep(200);
    }
    throw new Error(`${this.name} did not become healthy`);
  }

  async rpc(method, params = []) {
    const r = await fetch(`http://127.0.0.1:${this.port}/`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    const body = await r.json();
    if (body.error) throw new Error(`${this.name} ${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  }

  kill9() {
    // Keep what the dying process counted.
    for (const [k, v] of Object.entries(this.last)) this.base[k] = (this.base[k] ?? 0) + v;
    this.last = {};
    this.proc?.kill('SIGKILL');
  }

  async scrape() {
    if (!this.proc) return;
    try {
      const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
      this.last = parseMetrics(text, 'teesigner_refusals_total');
    } catch { /* down */ }
  }

  refusals() {
    const total = { ...this.base };
    for (const [k, v] of Object.entries(this.last)) total[k] = (total[k] ?? 0) + v;
    return total;
  }
}

// ------------------------------------------------------------------ nodes --

class Node {
  constructor(name, index, validator, signer) {
    this.name = name;
    this.validator = validator; // the account name (alice, bob, charlie, dave)
    this.signer = signer; // Signer or null (local keystore)
    this.dir = path.join(workDir, name);
    this.p2p = basePort + 10 * index;
    this.rpcPort = basePort + 10 * index + 1;
    this.prom = basePort + 10 * index + 2;
    this.restarts = [];
    this.base = {};
    this.last = {};
    this.best = null;
    this.finalized = null;
    fs.mkdirSync(this.dir, { recursive: true });
    this.logPath = path.join(this.dir, 'node.log');
  }

  get source() { return this.signer ? 'tee-signer' : 'local'; }

  start(spec, bootnodes) {
    const args = [
      '--chain', spec, '--base-path', path.join(this.dir, 'base'), '--name', this.name,
      '--validator', '--database', 'paritydb', '--port', String(this.p2p),
      '--rpc-port', String(this.rpcPort), '--prometheus-port', String(this.prom),
      '--no-mdns', '--no-telemetry', '--allow-private-ip', '--unsafe-force-node-key-generation',
    ];
    for (const b of bootnodes) args.push('--bootnodes', b);
    if (this.signer) args.push('--signer', `unix:${this.signer.socket}`);
    else args.push(`--${this.validator}`); // dev keys //Alice, //Bob in the local keystore
    const out = fs.openSync(this.logPath, 'a');
    this.proc = spawn(opt['node-bin'], args, { stdio: ['ignore', out, out] });
    this.startedAt = elapsed();
    this.proc.on('exit', (code, signal) => {
      this.proc = null;
      for (const [k, v] of Object.entries(this.last)) this.base[k] = (this.base[k] ?? 0) + v;
      this.last = {};
      if (stopping) return;
      const tail = lastLines(this.logPath, 400).reverse();
      const reason = tail.find((l) => /GRANDPA voter error/.test(l)) ?? tail.find((l) => /Error|error/.test(l)) ?? '';
      this.restarts.push({ at: elapsed(), code, signal, reason: reason.slice(0, 240) });
      log(`${this.name} exited (code ${code}, signal ${signal}); restarting in 2 s: ${reason.slice(0, 160)}`);
      setTimeout(() => { if (!stopping) this.start(spec, bootnodes); }, 2000);
    });
  }

  async rpc(method, params = []) {
    const r = await fetch(`http://127.0.0.1:${this.rpcPort}/`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(3000),
    });
    const body = await r.json();
    if (body.error) throw new Error(`${this.name} ${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  }

  async poll() {
    if (!this.proc) return;
    try {
      const best = await this.rpc('chain_getHeader');
      const finalizedHash = await this.rpc('chain_getFinalizedHead');
      const finalized = await this.rpc('chain_getHeader', [finalizedHash]);
      this.best = parseInt(best.number, 16);
      this.finalized = parseInt(finalized.number, 16);
      noteHeader(best, this.name);
      const text = await (await fetch(`http://127.0.0.1:${this.prom}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
      this.last = parseMetrics(text, 'tee_devnet_signatures_total');
    } catch { /* starting or down */ }
  }

  signatures() {
    const total = { ...this.base };
    for (const [k, v] of Object.entries(this.last)) total[k] = (total[k] ?? 0) + v;
    return total;
  }

  count(purpose, outcome) {
    let n = 0;
    for (const [k, v] of Object.entries(this.signatures())) {
      if (k.includes(`purpose="${purpose}"`) && k.includes(`outcome="${outcome}"`)) n += v;
    }
    return n;
  }
}

// --------------------------------------------------------------- helpers --

function parseMetrics(text, family) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(family)) continue;
    const m = line.match(/^(\S+?)(\{[^}]*\})?\s+(\S+)/);
    if (m && m[1] === family) out[m[2] ?? ''] = Number(m[3]);
  }
  return out;
}

function lastLines(file, n) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-n);
  } catch { return []; }
}

const hexBytes = (hex) => Buffer.from(hex.replace(/^0x/, ''), 'hex');

// BABE's pre-runtime digest: DigestItem::PreRuntime (6) ++ "BABE" ++
// compact length ++ PreDigest (variant byte, authority_index u32, slot u64).
function babePreDigest(header) {
  for (const item of header.digest.logs) {
    const b = hexBytes(item);
    if (b[0] !== 6 || b.subarray(1, 5).toString() !== 'BABE') continue;
    const lenMode = b[5] & 3;
    const off = 5 + (lenMode === 0 ? 1 : lenMode === 1 ? 2 : 4);
    return { kind: b[off], authority: b.readUInt32LE(off + 1), slot: b.readBigUInt64LE(off + 5) };
  }
  return null;
}

// Every header any node reported as its best, by (slot, authority): two
// different headers for one pair would be a BABE equivocation that reached
// the network.
const seenBySlot = new Map();
const seenConflicts = [];
function noteHeader(header, seenBy) {
  const pre = babePreDigest(header);
  if (!pre) return;
  const key = `${pre.slot}/${pre.authority}`;
  // The header's own hash is not in the RPC answer; its parent, number and
  // state root identify it well enough between honest nodes' reports.
  const id = `${header.parentHash}/${header.stateRoot}/${header.extrinsicsRoot}`;
  const prev = seenBySlot.get(key);
  if (!prev) seenBySlot.set(key, { id, seenBy });
  else if (prev.id !== id && !seenConflicts.some((c) => c.key === key)) {
    seenConflicts.push({ key, first: prev, second: { id, seenBy } });
  }
}

// ------------------------------------------------------------------- run --

let stopping = false;
// N validators (dev accounts in genesis order): the first half on local
// keystores, the rest on one tee-signer each; the last TEE validator runs on
// two nodes sharing its signer; the first TEE validator's signer is killed.
const validators = ['alice', 'bob', 'charlie', 'dave', 'eve', 'ferdie'].slice(0, validatorCount);
const cloudCount = Math.floor(validatorCount / 2);
const teeValidators = validators.slice(cloudCount);
const signers = teeValidators.map((v, i) => new Signer(`signer-${v}`, i));
const nodes = validators.slice(0, cloudCount).map((v, i) => new Node(`cloud-${v}`, i, v, null));
for (const [i, v] of teeValidators.entries()) {
  if (i < teeValidators.length - 1) nodes.push(new Node(`tee-${v}`, nodes.length, v, signers[i]));
  else for (const k of [1, 2]) nodes.push(new Node(`tee-${v}-${k}`, nodes.length, v, signers[i]));
}
const killed = { signer: signers[0], node: nodes[cloudCount] };

function stopAll() {
  stopping = true;
  for (const n of nodes) n.proc?.kill('SIGTERM');
  for (const s of signers) s.proc?.kill('SIGTERM');
}
process.on('SIGINT', () => { stopAll(); process.exit(130); });

async function main() {
  log(`work dir ${workDir}`);
  for (const s of signers) s.start();
  for (const s of signers) await s.ready();
  const sessionKeys = {};
  for (const [s, who] of signers.map((sg, i) => [sg, teeValidators[i]])) {
    const blob = await s.rpc('author_rotateKeys');
    // The relay chain's set starts with GRANDPA (ed25519) and BABE (sr25519):
    // the devnet runtime's SessionKeys are exactly those two.
    sessionKeys[who] = '0x' + hexBytes(blob).subarray(0, 64).toString('hex');
    log(`${s.name}: author_rotateKeys → ${who} grandpa 0x${hexBytes(blob).subarray(0, 32).toString('hex')} babe 0x${hexBytes(blob).subarray(32, 64).toString('hex')}`);
  }
  const spec = path.join(workDir, 'chain-spec.json');
  const specJson = execFileSync(opt['node-bin'], [
    'devnet-spec',
    ...validators.flatMap((v) => ['--validator', sessionKeys[v] ? `${v}=${sessionKeys[v]}` : v]),
  ], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  fs.writeFileSync(spec, specJson);

  nodes[0].start(spec, []);
  let peerId;
  for (let i = 0; i < 150 && !peerId; i++) {
    await sleep(200);
    peerId = await nodes[0].rpc('system_localPeerId').catch(() => null);
  }
  if (!peerId) throw new Error(`${nodes[0].name} did not start; see ${nodes[0].logPath}`);
  const boot = [`/ip4/127.0.0.1/tcp/${nodes[0].p2p}/p2p/${peerId}`];
  for (const n of nodes.slice(1)) n.start(spec, boot);
  log(`${nodes.length} nodes started: ${nodes.map((n) => `${n.name} (${n.source})`).join(', ')}`);

  const chaos = { killedAt: null, restartedAt: null, finalizedAtKill: null, finalizedAtRestart: null, killedAtRestart: null };
  const authored = Object.fromEntries(validators.map((v) => [v, 0]));
  const authoredAfterRestart = Object.fromEntries(validators.map((v) => [v, 0]));
  let scanned = 0;
  let lastPrint = -10;

  while (elapsed() < runSeconds) {
    await sleep(2000);
    await Promise.all([...nodes.map((n) => n.poll()), ...signers.map((s) => s.scrape())]);

    // Authors of finalized blocks, from the node with the highest finality.
    const ref = nodes.filter((n) => n.proc && n.finalized != null).sort((a, b) => b.finalized - a.finalized)[0];
    if (ref) {
      for (let h = scanned + 1; h <= ref.finalized; h++) {
        try {
          const header = await ref.rpc('chain_getHeader', [await ref.rpc('chain_getBlockHash', [h])]);
          const pre = babePreDigest(header);
          if (pre) {
            authored[validators[pre.authority]]++;
            if (chaos.restartedAt != null) authoredAfterRestart[validators[pre.authority]]++;
          }
          scanned = h;
        } catch { break; }
      }
    }

    if (chaos.killedAt == null && elapsed() >= killAt) {
      chaos.killedAt = elapsed();
      chaos.finalizedAtKill = maxFinalized();
      log(`CHAOS: kill -9 ${killed.signer.name} (pid ${killed.signer.proc?.pid}); finalized #${chaos.finalizedAtKill}`);
      killed.signer.kill9();
    }
    if (chaos.killedAt != null && chaos.restartedAt == null && elapsed() >= killAt + downFor) {
      chaos.finalizedAtRestart = maxFinalized();
      log(`CHAOS: restarting ${killed.signer.name}; finalized #${chaos.finalizedAtRestart} (was #${chaos.finalizedAtKill} at the kill)`);
      killed.signer.start();
      await killed.signer.ready();
      chaos.restartedAt = elapsed();
      chaos.killedAtRestart = killed.node.count('grandpa_vote', 'signed') + killed.node.count('babe_seal', 'signed');
    }

    if (elapsed() - lastPrint >= 10) {
      lastPrint = elapsed();
      printStatus(authored);
    }
  }

  await Promise.all([...nodes.map((n) => n.poll()), ...signers.map((s) => s.scrape())]);
  stopAll();
  await sleep(1500);
  return report(chaos, authored, authoredAfterRestart);
}

function maxFinalized() {
  return Math.max(0, ...nodes.map((n) => n.finalized ?? 0));
}

function printStatus(authored) {
  const heads = nodes.map((n) => `${n.name} ${n.proc ? `#${n.best ?? '?'}/#${n.finalized ?? '?'}` : 'down'}`).join('  ');
  log(`best/finalized: ${heads}`);
  const blocks = Object.entries(authored).map(([v, c]) => `${v} ${c}`).join(', ');
  const votes = nodes.map((n) => `${n.name} ${n.count('grandpa_vote', 'signed')}`).join(', ');
  const refusals = signers.map((s) => `${s.name} ${JSON.stringify(s.refusals())}`).join(', ');
  log(`  finalized blocks by author: ${blocks} | GRANDPA votes signed: ${votes}`);
  log(`  signer refusals: ${refusals} | node restarts: ${nodes.map((n) => `${n.name} ${n.restarts.length}`).join(', ')}`);
}

function grepLogs(pattern) {
  const hits = [];
  for (const n of nodes) {
    for (const line of lastLines(n.logPath, 1e9)) if (pattern.test(line)) hits.push(`${n.name}: ${line.slice(0, 200)}`);
  }
  return hits;
}

function report(chaos, authored, authoredAfterRestart) {
  const bySource = { local: {}, 'tee-signer': {} };
  for (const n of nodes) {
    for (const [k, v] of Object.entries(n.signatures())) {
      const purpose = /purpose="([^"]+)"/.exec(k)?.[1];
      const outcome = /outcome="([^"]+)"/.exec(k)?.[1];
      const key = `${purpose}:${outcome}`;
      bySource[n.source][key] = (bySource[n.source][key] ?? 0) + v;
    }
  }
  const babeEquivocations = grepLogs(/is equivocating at slot/);
  const grandpaEquivocations = grepLogs(/Detected (prevote|precommit) equivocation/);
  const finalized = maxFinalized();
  const teeBlocks = teeValidators.reduce((sum, v) => sum + authored[v], 0);
  const teeVotes = bySource['tee-signer']['grandpa_vote:signed'] ?? 0;
  const killedAfter = killed.node.count('grandpa_vote', 'signed') + killed.node.count('babe_seal', 'signed') - (chaos.killedAtRestart ?? 0);
  const refusals = signers.map((s) => ({ signer: s.name, ...s.refusals() }));

  console.log('\n================ devnet result ================');
  console.log(`run: ${(elapsed() / 60).toFixed(1)} min, ${validators.length} validators on ${nodes.length} nodes (${nodes.map((n) => `${n.name}: ${n.signer ? n.signer.name : 'local keystore'}`).join('; ')})`);
  console.log(`finalized height: #${finalized}; best: ${nodes.map((n) => `${n.name} #${n.best}`).join(', ')}`);
  console.log(`finalized blocks by author: ${JSON.stringify(authored)}`);
  console.log(`signatures by key source (purpose:outcome → count): ${JSON.stringify(bySource)}`);
  console.log(`signer refusals (teesigner_refusals_total by rule): ${JSON.stringify(refusals)}`);
  console.log('node restarts (time, and the last GRANDPA voter error or other error before the exit):');
  for (const n of nodes) {
    console.log(`  ${n.name}: ${n.restarts.length}`);
    for (const r of n.restarts) console.log(`    ${r.at.toFixed(0)} s: ${r.reason.replace(/^\S+ \S+ /, '')}`);
  }
  const standbys = grepLogs(/standing by \(no GRANDPA votes\)/);
  console.log(`GRANDPA stand-bys begun after a refused vote: ${standbys.length} (${nodes.map((n) => `${n.name} ${standbys.filter((l) => l.startsWith(n.name + ':')).length}`).join(', ')})`);
  console.log(`chaos: ${killed.signer.name} killed at ${chaos.killedAt?.toFixed(0)} s (finalized #${chaos.finalizedAtKill}), restarted at ${chaos.restartedAt?.toFixed(0)} s (finalized #${chaos.finalizedAtRestart}); ${killed.node.name} signatures after the restart: ${killedAfter}; blocks finalized after the restart by author: ${JSON.stringify(authoredAfterRestart)}`);
  console.log(`equivocations seen by the nodes (BABE import check, GRANDPA voter): ${babeEquivocations.length + grandpaEquivocations.length}; conflicting best heads seen by this script: ${seenConflicts.length}`);
  for (const line of [...babeEquivocations, ...grandpaEquivocations].slice(0, 10)) console.log(`  ${line}`);
  for (const c of seenConflicts.slice(0, 10)) console.log(`  slot/authority ${c.key}: ${JSON.stringify(c)}`);

  const checks = [
    ['the chain finalized blocks', finalized >= 10],
    [`finality went on while ${killed.signer.name} was down`, chaos.finalizedAtRestart > chaos.finalizedAtKill],
    ['TEE validators authored finalized blocks', teeBlocks > 0],
    ['GRANDPA votes were signed through tee-signer', teeVotes > 0],
    [`${killed.node.name} signed again after its signer restarted`, killedAfter > 0],
    ['no equivocation (nodes\' BABE and GRANDPA checks, best heads)', babeEquivocations.length + grandpaEquivocations.length + seenConflicts.length === 0],
  ];
  let ok = true;
  for (const [what, pass] of checks) {
    console.log(`${pass ? 'PASS' : 'FAIL'}  ${what}`);
    ok &&= pass;
  }
  if (ok && !opt.keep && !opt.dir) {
    fs.rmSync(workDir, { recursive: true, force: true });
    console.log(`logs: removed after the pass (--keep or --dir DIR keeps them)`);
  } else {
    console.log(`logs: ${workDir}`);
  }
  return ok;
}

main().then((ok) => process.exit(ok ? 0 : 1), (e) => {
  console.error('devnet:', e.message);
  stopAll();
  process.exit(1);
});
