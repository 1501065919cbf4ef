#!/usr/bin/env node
// The package mirror this project is built against serves only some platforms' prebuilt optional
// packages (next's swc, rollup, foundry binaries), so `npm install` leaves the others out of
// package-lock.json and `npm ci` then refuses the lock as "out of sync". This adds an entry for each
// missing platform package — version, optional, os/cpu/libc read from its name, no tarball — so
// `npm ci` sees a complete lock and skips them as it would on any foreign platform.
// Run after `npm install` changes the lock: `node scripts/lock-platforms.mjs`.
import fs from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pkgs = lock.packages;

const osOf = (n) =>
  ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'openharmony', 'sunos', 'aix', 'netbsd'].find((o) => new RegExp(`(^|[-/])${o}(-|$)`).test(n));
function cpuOf(n) {
  const map = [
    ['arm64', 'arm64'],
    ['aarch64', 'arm64'],
    ['amd64', 'x64'],
    ['x64', 'x64'],
    ['ia32', 'ia32'],
    ['loong64', 'loong64'],
    ['ppc64', 'ppc64'],
    ['riscv64', 'riscv64'],
    ['s390x', 's390x'],
    ['arm', 'arm'],
    ['universal', null],
  ];
  for (const [k, v] of map) if (new RegExp(`-${k}(-|$)`).test(n)) return v;
  return undefined;
}
const libcOf = (n) => (/-musl/.test(n) ? 'musl' : /-gnu/.test(n) ? 'glibc' : undefined);

let added = 0;
for (const [where, meta] of Object.entries(pkgs)) {
  for (const [dep, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = where ? `${where}/node_modules/${dep}` : `node_modules/${dep}`;
    if (pkgs[base] || pkgs[`node_modules/${dep}`]) continue;
    const os = osOf(dep.split('/').pop());
    if (!os) continue; // not a platform package: leave it to npm
    const entry = { version: range.replace(/^[\^~=]/, ''), optional: true, os: [os] };
    const cpu = cpuOf(dep.split('/').pop());
    if (cpu) entry.cpu = [cpu];
    const libc = libcOf(dep.split('/').pop());
    if (libc) entry.libc = [libc];
    if (meta.dev) entry.dev = true;
    pkgs[`node_modules/${dep}`] = entry;
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-platforms: added ${added} platform package entries`);
