/**
 * The top entries of what bench/ui-profile.mjs wrote: allocation (MiB/s over the window) and CPU
 * self time by function, with the file and line.  node bench/ui-profile-top.mjs /tmp/p [N]
 */
import fs from 'node:fs';

const base = process.argv[2];
const n = Number(process.argv[3] ?? 25);
const ms = Number(fs.readFileSync(`${base}.done`, 'utf8'));
const where = (cf) => `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${cf.lineNumber + 1}`;

const hp = JSON.parse(fs.readFileSync(`${base}.heapprofile`, 'utf8'));
const self = new Map();
const incl = new Map();
let total = 0;
const walk = (node, stack) => {
  const s = node.selfSize;
  total += s;
  const k = where(node.callFrame);
  self.set(k, (self.get(k) ?? 0) + s);
  const seen = new Set(stack);
  seen.add(k);
  if (s) for (const f of seen) incl.set(f, (incl.get(f) ?? 0) + s);
  for (const c of node.children) walk(c, seen);
};
walk(hp.head, new Set());
const mibs = (b) => (b / 1048576 / (ms / 1000)).toFixed(2);
console.log(`allocated ${mibs(total)} MiB/s over ${ms / 1000} s (sampled, garbage included)\n\nself MiB/s  function`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${mibs(v).padStart(10)}  ${k}`);
console.log(`\ninclusive MiB/s  function`);
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${mibs(v).padStart(10)}  ${k}`);

const cp = JSON.parse(fs.readFileSync(`${base}.cpuprofile`, 'utf8'));
const dt = new Map();
for (let i = 0; i < cp.samples.length; i++) dt.set(cp.samples[i], (dt.get(cp.samples[i]) ?? 0) + (cp.timeDeltas[i] ?? 0));
const byId = new Map(cp.nodes.map((x) => [x.id, x]));
const cself = new Map();
let busy = 0;
for (const [id, us] of dt) {
  const node = byId.get(id);
  const k = where(node.callFrame);
  cself.set(k, (cself.get(k) ?? 0) + us);
  if (!['(idle)', '(program)'].includes(node.callFrame.functionName)) busy += us;
}
const span = cp.endTime - cp.startTime;
console.log(`\nCPU: ${(busy / span * 100).toFixed(1)} % of a core in JS+GC samples (idle and (program) left out)\n\nself % of a core  function`);
for (const [k, v] of [...cself].sort((a, b) => b[1] - a[1]).filter(([k]) => !k.startsWith('(idle)')).slice(0, n)) console.log(`${(v / span * 100).toFixed(2).padStart(8)}  ${k}`);
