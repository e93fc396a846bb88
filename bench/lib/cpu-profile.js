'use strict';
// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time by function and by package,
// optionally only for samples inside a time window (the load run).
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { round } = require('./util');

function packageOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native/V8)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist !== -1)
    return `app: ${url
      .slice(dist + 1)
      .split('/')
      .slice(0, 3)
      .join('/')}`;
  return url;
}

function shortUrl(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * @param {string} file       a .cpuprofile
 * @param {object} window     { fromUs, toUs } on the CLOCK_MONOTONIC microsecond scale V8 uses
 *                            (process.hrtime.bigint() / 1000n); omitted or not overlapping: whole profile
 * @param {number} top        how many functions to list
 * @param {number} requests   requests served in the window (for µs per request), optional
 */
function summarizeCpuProfile(file, window = {}, top = 25, requests = null) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const { samples, timeDeltas } = profile;
  let useWindow =
    window.fromUs !== undefined && window.fromUs < profile.endTime && window.toUs > profile.startTime;
  const selfByNode = new Map();
  const tally = (useWin) => {
    selfByNode.clear();
    let t = profile.startTime;
    let total = 0;
    for (let i = 0; i < samples.length; i += 1) {
      t += timeDeltas[i];
      // A sample stands for the time until the next one.
      const dur = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
      if (useWin && (t < window.fromUs || t > window.toUs)) continue;
      selfByNode.set(samples[i], (selfByNode.get(samples[i]) ?? 0) + dur);
      total += dur;
    }
    return total;
  };
  let totalUs = tally(useWindow);
  if (useWindow && totalUs === 0) {
    useWindow = false;
    totalUs = tally(false);
  }
  const byFunction = new Map();
  const byPackage = new Map();
  let idleUs = 0;
  for (const [id, us] of selfByNode) {
    const { callFrame } = nodes.get(id);
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = `${name} ${shortUrl(callFrame.url)}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = packageOf(callFrame.url, name);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const perRequest = (us) => (requests ? round(us / requests, 1) : null);
  const list = (map, n) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        selfMs: round(us / 1000, 1),
        pctOfBusy: round((us / busyUs) * 100, 1),
        usPerRequest: perRequest(us),
      }));
  return {
    file,
    windowed: useWindow,
    wallMs: round(totalUs / 1000, 0),
    busyMs: round(busyUs / 1000, 0),
    idlePct: round((idleUs / totalUs) * 100, 1),
    requests,
    busyUsPerRequest: perRequest(busyUs),
    topFunctions: list(byFunction, top),
    topPackages: list(byPackage, 15),
  };
}

/** The first .cpuprofile node --cpu-prof wrote into dir, or null. */
function findCpuProfile(dir) {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  return files.length ? join(dir, files[0]) : null;
}

/** The printed form of a summarizeCpuProfile() result (or of { error }), starting with a blank line. */
function formatCpuProfile(name, p, top = 20) {
  if (!p.topFunctions) return `\n${name} CPU profile: ${p.error}\n`;
  return (
    `\n${name} CPU profile (${p.windowed ? 'measured load window' : 'whole process'}: ${p.busyMs} ms busy of ${p.wallMs} ms, ` +
    `idle ${p.idlePct} %, ${p.busyUsPerRequest} µs busy per request):\n` +
    `  by package (self time, % of busy / µs per request): ` +
    `${p.topPackages.map((x) => `${x.name} ${x.pctOfBusy} % / ${x.usPerRequest}`).join(', ')}\n` +
    p.topFunctions
      .slice(0, top)
      .map(
        (x) =>
          `  ${String(x.pctOfBusy).padStart(5)} %  ${String(x.usPerRequest).padStart(6)} µs/req  ${x.name}`,
      )
      .join('\n') +
    '\n'
  );
}

module.exports = { summarizeCpuProfile, findCpuProfile, formatCpuProfile };
