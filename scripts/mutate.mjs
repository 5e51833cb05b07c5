#!/usr/bin/env node
/*
 * mutate: the project's mutation run (`make mutate`). Each mutant in test/mutants.txt is a small
 * change to the source, written as a pattern and its replacement, never as a line number, so the
 * list survives files being moved, split or reformatted. For each mutant this script:
 *
 *   1. finds the pattern in a scratch copy of the tree (build/mutate/tree-N): it must match
 *      exactly once among the source files (src/, recursively, optionally narrowed by `in`);
 *      otherwise the mutant is "not applicable" and says why;
 *   2. applies it and builds the server and the unit tests (a mutant that does not compile is
 *      not applicable either);
 *   3. runs the black-box suite, the files the mutant names first, stopping at the first
 *      failing test, then, if that suite stayed green, the unit tests;
 *   4. restores the file.
 *
 * It ends with `mutants: N caught, M survived, K not applicable`, the share caught by the
 * black-box suite alone, and the survivors by name. The working tree is never modified.
 *
 * Usage: node scripts/mutate.mjs [--jobs N] [--only name,name] [--list] [--no-baseline]
 *   --jobs N       scratch trees run in parallel (default 1; the machine has 2 cores)
 *   --only         run just these mutants (names, comma-separated)
 *   --list         check every pattern against the tree and print the table, without running
 *   --no-baseline  skip the first run of every test on the unmutated tree (which otherwise
 *                  stops the run if anything fails without a mutant)
 * Environment: MUTATE_TIMEOUT_S, seconds one suite may take before the mutant counts as caught
 * by a hang (default 600).
 *
 * Mutant file format (blank lines and lines starting with '#' between mutants are ignored):
 *
 *   mutant <name>
 *   layer <decoder|validation|idempotency|lists|state|events|delivery|redaction|signing|
 *          hosted|store|http|config|clock>
 *   breaks <what a user would see go wrong>
 *   in <substring of the file path>        (optional: narrows where the pattern is looked for)
 *   tests <blackbox file stem> ...         (optional: run these files first)
 *   find
 *   <pattern lines>
 *   replace
 *   <replacement lines, possibly none>
 *   [find ... replace ...]                 (more pieces: a behaviour guarded in two places)
 *   end
 *
 * Patterns match token by token: whitespace, line breaks and indentation in the source do not
 * matter, identifiers and numbers must stay whole.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(ROOT, 'build', 'mutate');
const LIST = path.join(ROOT, 'test', 'mutants.txt');
const TIMEOUT_MS = Number(process.env.MUTATE_TIMEOUT_S || 600) * 1000;
const LAYERS = new Set(['decoder', 'validation', 'idempotency', 'lists', 'state', 'events', 'delivery',
    'redaction', 'signing', 'hosted', 'store', 'http', 'config', 'clock', 'auth', 'json']);

function die(msg) {
    console.error(`mutate: ${msg}`);
    process.exit(2);
}

/* ---- the list ---- */

function parseList(text) {
    const lines = text.split('\n');
    const out = [];
    let m = null;
    let mode = null; /* null, 'find', 'replace' */
    lines.forEach((line, i) => {
        const where = `${path.relative(ROOT, LIST)}:${i + 1}`;
        if (mode === 'find' || mode === 'replace') {
            if (line === 'replace' && mode === 'find') {
                mode = 'replace';
                return;
            }
            if (line === 'find' && mode === 'replace') { /* another piece of the same mutant */
                m.pairs.push({ find: [], replace: [] });
                mode = 'find';
                return;
            }
            if (line === 'end') {
                if (mode !== 'replace') die(`${where}: 'end' before 'replace'`);
                out.push(m);
                m = null;
                mode = null;
                return;
            }
            /* No C line starts so: a mutant whose 'end' went missing (a merge) would otherwise
             * swallow the next one silently. */
            if (/^mutant [a-z0-9]/.test(line)) die(`${where}: 'mutant' inside ${m.name}: its 'end' is missing`);
            m.pairs[m.pairs.length - 1][mode].push(line);
            return;
        }
        if (line.trim() === '' || line.startsWith('#')) return;
        const sp = line.indexOf(' ');
        const word = sp < 0 ? line : line.slice(0, sp);
        const rest = sp < 0 ? '' : line.slice(sp + 1).trim();
        if (word === 'mutant') {
            if (m) die(`${where}: mutant ${m.name} has no find/replace/end`);
            m = { name: rest, layer: '', breaks: '', in: '', tests: [], pairs: [], where };
            return;
        }
        if (!m) die(`${where}: '${word}' outside a mutant`);
        if (word === 'layer') m.layer = rest;
        else if (word === 'breaks') m.breaks = rest;
        else if (word === 'in') m.in = rest;
        else if (word === 'tests') m.tests = rest.split(/\s+/).filter(Boolean);
        else if (word === 'find') {
            m.pairs.push({ find: [], replace: [] });
            mode = 'find';
        }
        else die(`${where}: unknown line '${line}'`);
    });
    if (m || mode) die('the list ends inside a mutant');
    const names = new Set();
    for (const x of out) {
        if (!/^[a-z0-9][a-z0-9-]*$/.test(x.name)) die(`${x.where}: bad mutant name '${x.name}'`);
        if (names.has(x.name)) die(`${x.where}: mutant ${x.name} twice`);
        names.add(x.name);
        if (!LAYERS.has(x.layer)) die(`${x.where}: ${x.name}: layer '${x.layer}' is not one of ${[...LAYERS].join(', ')}`);
        if (!x.breaks) die(`${x.where}: ${x.name}: say what it breaks`);
        if (x.pairs.some((p) => p.find.join('').trim() === '')) die(`${x.where}: ${x.name}: empty pattern`);
    }
    return out;
}

/* A regular expression for a pattern: its tokens in order, any whitespace between them
 * (at least some between two word tokens). */
function patternRegex(lines) {
    const text = lines.join('\n');
    const tokens = text.match(/[A-Za-z0-9_]+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S/g) || [];
    const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    let re = '';
    tokens.forEach((t, i) => {
        if (i > 0) {
            const word = /^[A-Za-z0-9_]/;
            re += word.test(tokens[i - 1].slice(-1)) && word.test(t[0]) ? '\\s+' : '\\s*';
        }
        re += esc(t);
    });
    return new RegExp(re, 'g');
}

function sourceFiles(tree) {
    const out = [];
    const walk = (dir) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (/\.(c|h)$/.test(e.name)) out.push(p);
        }
    };
    walk(path.join(tree, 'src'));
    return out.sort();
}

/* {file, rel, index, length} of the one match of pair p, or {error}. */
function locateOne(tree, m, p) {
    const re = patternRegex(p.find);
    const hits = [];
    for (const f of sourceFiles(tree)) {
        const rel = path.relative(tree, f);
        if (m.in && !rel.includes(m.in)) continue;
        const text = fs.readFileSync(f, 'utf8');
        for (const x of text.matchAll(re)) hits.push({ file: f, rel, index: x.index, length: x[0].length, replace: p.replace.join('\n') });
    }
    if (hits.length === 0) return { error: 'pattern not found' };
    if (hits.length > 1) return { error: `pattern matches ${hits.length} times (${[...new Set(hits.map((x) => x.rel))].join(', ')})` };
    return hits[0];
}

/* The matches of every piece of m, or {error} naming the first piece that does not match once. */
function locate(tree, m) {
    const locs = [];
    for (const [i, p] of m.pairs.entries()) {
        const loc = locateOne(tree, m, p);
        if (loc.error) return { error: m.pairs.length > 1 ? `piece ${i + 1}: ${loc.error}` : loc.error };
        locs.push(loc);
    }
    return { locs, rel: [...new Set(locs.map((l) => l.rel))].join(', ') };
}

/* ---- scratch trees ---- */

function run(cmd, args, opts = {}) {
    const r = spawnSync(cmd, args, Object.assign({ encoding: 'utf8', maxBuffer: 64 << 20 }, opts));
    return { ok: r.status === 0, out: (r.stdout || '') + (r.stderr || '') };
}

function copyTree(dst) {
    fs.rmSync(dst, { recursive: true, force: true });
    fs.mkdirSync(dst, { recursive: true });
    for (const p of ['Makefile', '.clang-format', 'README.md', 'src', 'scripts', 'test/unit']) {
        const from = path.join(ROOT, p);
        if (fs.existsSync(from)) fs.cpSync(from, path.join(dst, p), { recursive: true });
    }
    const bb = path.join(ROOT, 'test', 'blackbox');
    const bbDst = path.join(dst, 'test', 'blackbox');
    fs.mkdirSync(bbDst, { recursive: true });
    for (const e of fs.readdirSync(bb)) {
        if (e === 'node_modules') fs.symlinkSync(path.join(bb, e), path.join(bbDst, e));
        else fs.cpSync(path.join(bb, e), path.join(bbDst, e), { recursive: true });
    }
}

function unitBinaries(tree) {
    return fs.readdirSync(path.join(tree, 'test', 'unit'), { recursive: true })
        .filter((f) => /(^|\/)test_[^/]*\.c$/.test(f))
        .map((f) => path.join('build', 'unit', f.replace(/\.c$/, '')))
        .sort();
}

function build(tree) {
    return run('make', ['-C', tree, '--no-print-directory', '-j2', 'BUILD=build', 'all', ...unitBinaries(tree)]);
}

function blackboxFiles(tree) {
    return fs.readdirSync(path.join(tree, 'test', 'blackbox')).filter((f) => f.endsWith('.test.js')).sort();
}

/* Empty a suite's tmp. A suite killed at its first failure can leave processes behind that
 * are not in its process group (the browser starts its own): they are ended first, found by
 * the directory in their command lines. */
function clearTmp(tmp) {
    spawnSync('pkill', ['-KILL', '-f', tmp]);
    try {
        fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
        console.error(`mutate: could not empty ${tmp}: ${e.message}`);
    }
}

/* Run the black-box files in order, stopping at the first failing test. Resolves
 * {failed: test name or null, timedOut}. */
function blackbox(tree, files) {
    return new Promise((resolve) => {
        /* Data directories and browser profiles go to the tree's own tmp, emptied after each
         * run: a suite killed at its first failure leaves them behind. */
        const tmp = path.join(tree, 'tmp');
        clearTmp(tmp);
        fs.mkdirSync(tmp, { recursive: true });
        const env = Object.assign({}, process.env, { VERIFYD_BIN: path.join(tree, 'build', 'verifyd'), TMPDIR: tmp });
        const child = spawn('node', ['--test', '--test-concurrency=1', '--test-reporter=tap',
            ...files.map((f) => path.join('test', 'blackbox', f))], { cwd: tree, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        let failed = null;
        let timedOut = false;
        let pending = '';
        const stop = () => {
            try {
                process.kill(-child.pid, 'SIGKILL');
            } catch (_) { /* gone */ }
        };
        const timer = setTimeout(() => {
            timedOut = true;
            stop();
        }, TIMEOUT_MS);
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (d) => {
            pending += d;
            let nl;
            while ((nl = pending.indexOf('\n')) >= 0) {
                const line = pending.slice(0, nl);
                pending = pending.slice(nl + 1);
                const m = /^\s*not ok \d+ - (.*)$/.exec(line);
                /* A file's own "not ok" line follows its failing test's; the first one names it. */
                if (m && failed === null && !/ # (SKIP|TODO)/.test(line)) {
                    failed = m[1];
                    stop();
                }
            }
        });
        child.stderr.resume();
        child.on('close', (code) => {
            clearTimeout(timer);
            clearTmp(tmp);
            if (failed === null && !timedOut && code !== 0) failed = `suite exited ${code}`;
            resolve({ failed, timedOut });
        });
    });
}

function unit(tree) {
    for (const b of unitBinaries(tree)) {
        const r = run(path.join(tree, b), [], { cwd: tree, timeout: TIMEOUT_MS });
        if (!r.ok) {
            const m = /\[  FAILED  \] (\S+)/.exec(r.out) || /\[  ERROR   \] --- (.*)/.exec(r.out);
            return `${path.basename(b)}${m ? ': ' + m[1] : ''}`;
        }
    }
    return null;
}

/* Apply every piece (later offsets first within a file); returns the original texts. */
function apply(locs) {
    const originals = new Map();
    for (const l of locs) if (!originals.has(l.file)) originals.set(l.file, fs.readFileSync(l.file, 'utf8'));
    for (const [file, text] of originals) {
        let t = text;
        for (const l of locs.filter((x) => x.file === file).sort((a, b) => b.index - a.index))
            t = t.slice(0, l.index) + l.replace + t.slice(l.index + l.length);
        fs.writeFileSync(file, t);
    }
    return originals;
}

async function runMutant(tree, m) {
    const t0 = Date.now();
    const loc = locate(tree, m);
    if (loc.error) return { m, verdict: 'n/a', why: loc.error, ms: 0 };
    const originals = apply(loc.locs);
    try {
        const b = build(tree);
        if (!b.ok) {
            const err = (b.out.match(/error: .*/) || ['does not compile'])[0];
            return { m, verdict: 'n/a', why: `does not compile (${err.slice(0, 120)})`, file: loc.rel, ms: Date.now() - t0 };
        }
        const all = blackboxFiles(tree);
        const first = m.tests.map((t) => (t.endsWith('.test.js') ? t : `${t}.test.js`)).filter((f) => all.includes(f));
        const rest = all.filter((f) => !first.includes(f));
        let bb = first.length ? await blackbox(tree, first) : { failed: null, timedOut: false };
        if (!bb.failed && !bb.timedOut) bb = await blackbox(tree, rest);
        if (bb.failed || bb.timedOut) {
            return { m, verdict: 'caught', by: 'black-box', why: bb.timedOut ? 'the suite hung' : bb.failed, file: loc.rel, ms: Date.now() - t0 };
        }
        const u = unit(tree);
        if (u) return { m, verdict: 'caught', by: 'unit', why: u, file: loc.rel, ms: Date.now() - t0 };
        return { m, verdict: 'survived', file: loc.rel, ms: Date.now() - t0 };
    } finally {
        const now = new Date();
        for (const [file, text] of originals) {
            fs.writeFileSync(file, text);
            fs.utimesSync(file, now, now); /* make rebuilds it */
        }
    }
}

/* ---- main ---- */

async function main() {
    const argv = process.argv.slice(2);
    let jobs = 1;
    let only = null;
    let listOnly = false;
    let baseline = true;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--jobs') jobs = Math.max(1, Number(argv[++i]) || 1);
        else if (argv[i] === '--only') only = new Set(argv[++i].split(',').map((s) => s.trim()).filter(Boolean));
        else if (argv[i] === '--list') listOnly = true;
        else if (argv[i] === '--no-baseline') baseline = false;
        else die(`unknown argument ${argv[i]}`);
    }
    let mutants = parseList(fs.readFileSync(LIST, 'utf8'));
    if (only) {
        for (const n of only) if (!mutants.some((m) => m.name === n)) die(`no mutant named ${n}`);
        mutants = mutants.filter((m) => only.has(m.name));
    }

    if (listOnly) {
        let bad = 0;
        for (const m of mutants) {
            const loc = locate(ROOT, m);
            if (loc.error) bad++;
            console.log(`${loc.error ? 'n/a ' : 'ok  '} ${m.layer.padEnd(12)} ${m.name.padEnd(40)} ${loc.error || loc.rel}`);
        }
        console.log(`${mutants.length} mutants, ${bad} not applicable`);
        return bad ? 1 : 0;
    }

    fs.mkdirSync(WORK, { recursive: true });
    const trees = [];
    for (let j = 0; j < jobs; j++) {
        const tree = path.join(WORK, `tree-${j}`);
        copyTree(tree);
        const b = build(tree);
        if (!b.ok) die(`the unmutated tree does not build:\n${b.out.slice(-3000)}`);
        trees.push(tree);
    }
    /* The unmutated tree must pass, or every mutant would look caught. */
    if (baseline) {
        console.log('mutate: checking that the unmutated tree passes every test');
        const base = await blackbox(trees[0], blackboxFiles(trees[0]));
        const baseUnit = unit(trees[0]);
        if (base.failed || base.timedOut || baseUnit) die(`the unmutated tree fails: ${base.failed || (base.timedOut ? 'hang' : baseUnit)}`);
    }

    const results = [];
    let next = 0;
    const worker = async (tree) => {
        while (next < mutants.length) {
            const m = mutants[next++];
            const r = await runMutant(tree, m);
            results.push(r);
            const tag = r.verdict === 'caught' ? `caught (${r.by})` : r.verdict;
            console.log(`${tag.padEnd(20)} ${m.name.padEnd(40)} ${((r.ms || 0) / 1000).toFixed(0).padStart(4)} s  ${r.why || ''}`);
        }
    };
    await Promise.all(trees.map(worker));

    const order = new Map(mutants.map((m, i) => [m.name, i]));
    results.sort((a, b) => order.get(a.m.name) - order.get(b.m.name));
    const caught = results.filter((r) => r.verdict === 'caught');
    const survived = results.filter((r) => r.verdict === 'survived');
    const na = results.filter((r) => r.verdict === 'n/a');
    const bb = caught.filter((r) => r.by === 'black-box');
    const applicable = caught.length + survived.length;
    const pct = (n) => (applicable ? ((100 * n) / applicable).toFixed(1) : '0.0');
    console.log('');
    console.log('by layer (caught/applicable):');
    const layers = [...new Set(mutants.map((m) => m.layer))];
    for (const l of layers) {
        const rs = results.filter((r) => r.m.layer === l && r.verdict !== 'n/a');
        console.log(`  ${l.padEnd(12)} ${rs.filter((r) => r.verdict === 'caught').length}/${rs.length}`);
    }
    for (const r of na) console.log(`not applicable: ${r.m.name}: ${r.why}`);
    for (const r of survived) console.log(`survived: ${r.m.name} (${r.file}): ${r.m.breaks}`);
    console.log(`black-box alone: ${bb.length} of ${applicable} (${pct(bb.length)}%); all tests: ${caught.length} of ${applicable} (${pct(caught.length)}%)`);
    console.log(`mutants: ${caught.length} caught, ${survived.length} survived, ${na.length} not applicable`);
    return 0;
}

main().then((code) => process.exit(code), (e) => die(e.stack || String(e)));
