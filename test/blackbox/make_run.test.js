'use strict';
/*
 * `make run` and the environment (README "Configuration"): the command line `make run` builds
 * (read with `make -n run`, which prints it without running anything) passes --listen and
 * --data-dir only when LISTEN / DATA_DIR are given, so that VERIFYD_LISTEN and VERIFYD_DATA_DIR
 * reach verifyd; and that very command line, started with those variables, serves where they say.
 * That a flag wins over its variable is verifyd's own rule (config.test.js).
 *
 * Not for: verifyd's flags themselves (config.test.js).
 */

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/server');

const ROOT = path.resolve(__dirname, '../..');
const test = h.testWithLog(() => []);

/* The verifyd command line of `make run` with these make arguments and environment, as words. */
function runLine(makeArgs, env) {
    const e = Object.assign({}, process.env, env);
    /* The make running this suite exports its own variables (the sanitizer pass sets BUILD, CC,
     * OPT and SAN on its command line): none of them is what a user typing `make run` has. */
    for (const k of ['LISTEN', 'DATA_DIR', 'ARGS', 'MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'BUILD', 'CC', 'OPT', 'SAN'])
        if (!(k in env)) delete e[k];
    const r = spawnSync('make', ['-n', '--no-print-directory', 'run', ...makeArgs], { cwd: ROOT, env: e, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => /^\S*build\/verifyd(\s|$)/.test(l));
    assert.ok(line, `no verifyd command in:\n${r.stdout}`);
    return line.trim().split(/\s+/);
}

test('make run passes no --listen / --data-dir of its own, so VERIFYD_* apply', () => {
    const words = runLine([], { VERIFYD_LISTEN: '127.0.0.1:1', VERIFYD_DATA_DIR: '/tmp/nowhere' });
    assert.ok(!words.includes('--listen'), words.join(' '));
    assert.ok(!words.includes('--data-dir'), words.join(' '));
});

test('make run LISTEN=… DATA_DIR=… ARGS=… still passes them as flags (flags win over VERIFYD_*)', () => {
    const words = runLine(['LISTEN=127.0.0.1:2', 'DATA_DIR=/tmp/d', 'ARGS=--pretty'], { VERIFYD_LISTEN: '127.0.0.1:1' });
    assert.deepEqual(words.slice(1), ['--listen', '127.0.0.1:2', '--data-dir', '/tmp/d', '--pretty']);
});

test('the command line make run builds serves on VERIFYD_LISTEN with VERIFYD_DATA_DIR', async () => {
    const port = await h.freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifyd-makerun-'));
    const env = { VERIFYD_LISTEN: `127.0.0.1:${port}`, VERIFYD_DATA_DIR: dir };
    const words = runLine([], env);
    /* Run the binary under test in place of build/verifyd, with exactly make's arguments. */
    const proc = spawn(h.BIN, words.slice(1), { cwd: dir, env: Object.assign({}, process.env, env), stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d) => (log += d));
    const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
    try {
        await h.eventually(() => log.includes(' listening on '), { what: 'the start-up line' });
        assert.match(log, new RegExp(`listening on 127\\.0\\.0\\.1:${port}\\b.*data_dir=${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        const r = await h.request(port, { path: h.SESSIONS_PATH, key: h.randomKey() });
        assert.equal(r.status, 200);
        assert.ok(fs.existsSync(path.join(dir, 'verifyd.db')), 'the database is in VERIFYD_DATA_DIR');
    } finally {
        proc.kill('SIGTERM');
        assert.deepEqual(await exited, { code: 0, signal: null }, log);
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
