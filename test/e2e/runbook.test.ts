/**
 * End-to-end: `rcopy run` (runbooks), every sample under samples/, `rcopy completion` and
 * `rcopy help COMMAND`, through the real binary in a temporary home.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, BIN, arrayDirOf, homeTest, withHome } from '../helpers.js';
import { buildProgram } from '../../src/cli/program.js';
import type { Command } from 'commander';

const SAMPLES = path.join(ROOT, 'samples');

function write(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

/** Every file under dir with its size and mtime: equal listings mean nothing was changed. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** Command groups present in this build (others land over time). */
function hasCommand(group: string): boolean {
  return buildProgram().commands.some((c) => c.name() === group);
}

homeTest('a runbook runs its steps: variables, --var, expect exit and JSON, save, on-error continue', async (h) => {
  const dir = h.tempDir();
  const rb = write(
    dir,
    'basic.yaml',
    `
name: basic
vars:
  arr: siteA
  size: 4M
steps:
  - name: create the array
    run: array create \${arr} --serial 10001
  - run: [volume, create, "\${arr}:v1", --size, "\${size}"]
    expect: { json: { size: 8388608, name: v1 } }
    save: { vol: name }
  - run: io write \${arr}:\${vol} --pattern random --seed 3 --length 1M
  - name: checksum
    run: rcopy io checksum \${arr}:v1
    expect:
      json:
        sha256: { matches: "^[0-9a-f]{64}$" }
        range.0: { exists: false }
    save: { sum: sha256 }
  - name: the same checksum again
    run: io checksum \${arr}:v1 --json
    expect: { json: { sha256: "\${sum}" } }
  - run: volume show \${arr}:nosuch
    expect: 2
  - name: allowed to fail
    run: volume show \${arr}:nosuch
    on-error: continue
  - run: volume list \${arr}
    expect: { json: { length: 1, "[0].size": { gte: 8000000 } } }
`,
  );
  const r = await h.run(['run', rb, '--var', 'size=8M', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const j = r.json();
  assert.equal(j.ok, true);
  assert.equal(j.steps.length, 8);
  assert.deepEqual(
    j.steps.map((s: any) => s.ok),
    [true, true, true, true, true, true, false, true],
  );
  assert.equal(j.steps[0].name, 'create the array');
  assert.equal(j.steps[1].command, 'rcopy volume create siteA:v1 --size 8M --json');
  assert.equal(j.steps[6].continued, true);
  assert.equal(j.steps[6].exitCode, 2);
  for (const s of j.steps) assert.ok(typeof s.seconds === 'number' && s.seconds >= 0);
  const vol = await h.ok('volume', 'show', 'siteA:v1', '--json');
  assert.equal(vol.size, 8 * 1024 * 1024);
  // the plain output: one line per step with its duration and result, and a summary
  await withHome(async (h2) => {
    const t = await h2.run(['run', rb, '--var', 'size=8M']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /1\. create the array {2}\d+\.\d\ds {2}OK/);
    assert.match(t.stdout, /allowed to fail {2}\d+\.\d\ds {2}FAILED \(exit 2\), continued/);
    assert.match(t.stdout, /basic: 8 step\(s\) done in/);
  });
});

homeTest('a failing step stops the run with its exit status, and the step is named', async (h) => {
  const dir = h.tempDir();
  const rb = write(
    dir,
    'fails.yaml',
    `
steps:
  - run: array create a1
  - name: show a volume that is not there
    run: volume show a1:ghost
  - name: never runs
    run: array create a2
`,
  );
  const r = await h.run(['run', rb]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /stopped at step 2 'show a volume that is not there' \(exit 2\)/);
  assert.match(r.stdout, /ERR_RCOPY_NO_VOLUME/);
  assert.doesNotMatch(r.stdout, /never runs/);
  assert.ok(fs.existsSync(arrayDirOf(h, 'a1')));
  assert.ok(!fs.existsSync(arrayDirOf(h, 'a2')), 'the step after the failure did not run');
  const j = (await h.run(['run', rb, '--json'])).json();
  assert.equal(j.ok, false);
  // a1 exists now, so step 1 fails this time: exit 2, named by its command
  assert.equal(j.failedStep.index, 1);
  assert.equal(j.failedStep.name, 'array create a1');
  assert.match(j.failedStep.error, /ERR_RCOPY_ARRAY_EXISTS/);

  // an expectation that does not hold fails the step with exit 1
  const rb2 = write(
    dir,
    'expect.yaml',
    `
steps:
  - name: wrong size
    run: array show a1
    expect:
      json: { trackSize: 4096 }
`,
  );
  const r2 = await h.run(['run', rb2]);
  assert.equal(r2.code, 1);
  assert.match(r2.stdout, /stopped at step 1 'wrong size' \(exit 1\)/);
  assert.match(r2.stdout, /trackSize is 65536, expected 4096/);
  // an expected failure that succeeds is a failure too
  const rb3 = write(dir, 'expect3.yaml', 'steps:\n  - run: array list\n    expect: 2\n');
  const r3 = await h.run(['run', rb3]);
  assert.equal(r3.code, 1);
  assert.match(r3.stdout, /exited 0, expected 2/);
});

homeTest('--dry-run checks every step, prints the plan and leaves the home unchanged', async (h) => {
  const dir = h.tempDir();
  await h.ok('array', 'create', 'keep');
  await h.ok('volume', 'create', 'keep:v1', '--size', '1M');
  await h.ok('array', 'stop', '--all');
  const rb = write(
    dir,
    'plan.yaml',
    `
vars: { a: siteX }
steps:
  - run: array create \${a}
  - run: volume create \${a}:v1 --size 4M
    save: { made: name }
  - run: io write \${a}:\${made} --pattern zero --length 64k
  - run: volume delete keep:v1 --yes
  - run: array delete keep --yes
    on-error: continue
`,
  );
  const before = listing(h.dir);
  const r = await h.run(['run', rb, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /5 step\(s\), checked; nothing was run/);
  assert.match(r.stdout, /2\. volume create siteX:v1 --size 4M/);
  assert.match(r.stdout, /io write siteX:\$\{made\}/);
  const j = (await h.run(['run', rb, '--dry-run', '--json', '--var', 'a=other'])).json();
  assert.equal(j.dryRun, true);
  assert.equal(j.steps[0].command, 'rcopy array create other');
  assert.deepEqual(listing(h.dir), before, 'dry run changed the home');
  assert.equal(h.pids().length, 0, 'dry run started no controller');
  // a dry run finds a bad command without running the steps before it
  const bad = write(dir, 'bad.yaml', 'steps:\n  - run: array create fresh\n  - run: volume craete fresh:v1\n');
  const b = await h.run(['run', bad]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /ERR_RCOPY_RUNBOOK: \S*bad\.yaml:3: step 2 \(volume craete fresh:v1\): unknown command 'craete' \(did you mean create\?\)/);
  assert.ok(!fs.existsSync(arrayDirOf(h, 'fresh')), 'nothing ran');
  assert.deepEqual(listing(h.dir), before);
});

homeTest('malformed runbooks get an error with the file and line number, exit 2', async (h) => {
  const dir = h.tempDir();
  const cases: Array<[string, string, RegExp]> = [
    ['yaml.yaml', 'steps:\n  - run: array list\n   bad: indent\n', /yaml\.yaml:3: invalid YAML/],
    ['unclosed.yaml', 'steps:\n  - run: [array, list\n  - run: array list\n', /unclosed\.yaml:\d+: invalid YAML/],
    ['key.yaml', 'name: x\nsteps:\n  - run: array list\n\n    wiat: { pair: "a:b", state: PAIR }\n', /key\.yaml:5: step 1: unknown key 'wiat' \(did you mean 'wait'\?\)/],
    ['nosteps.yaml', 'name: x\nvars: {a: 1}\n', /nosteps\.yaml:1: the runbook has no `steps:` list/],
    ['list.yaml', '- run: array list\n', /list\.yaml:1: a runbook is a mapping/],
    ['var.yaml', 'vars:\n  arr: a1\nsteps:\n  - run: array list\n  - run: array show ${ar}\n', /var\.yaml:5: step 2: run: unknown variable '\$\{ar\}' \(did you mean 'arr'\?\)/],
    ['onerr.yaml', 'steps:\n  - run: array list\n    on-error: retry\n', /onerr\.yaml:3: step 1: on-error must be stop or continue/],
    ['exit.yaml', 'steps:\n  - run: array list\n    expect:\n      exit: lots\n', /exit\.yaml:4: step 1: expect\.exit: an exit code is a whole number/],
    ['wait.yaml', 'steps:\n  - wait:\n      state: PAIR\n', /wait\.yaml:3: step 1: wait needs pair: .* or group:/],
    ['timeout.yaml', 'steps:\n  - run: array list\n    timeout: soon\n', /timeout\.yaml:3: step 1: timeout: invalid duration 'soon'/],
    ['dup.yaml', 'steps:\n  - run: array list\n    run: array show\n', /dup\.yaml:3: invalid YAML: Map keys must be unique/],
    ['opt.yaml', 'steps:\n  - run: array list\n  - run: array create x --serail 1\n', /opt\.yaml:3: step 2 .*unknown option '--serail' \(did you mean --serial\?\)/],
  ];
  for (const [name, text, re] of cases) {
    const f = write(dir, name, text);
    const r = await h.run(['run', f, '--dry-run']);
    assert.equal(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /ERR_RCOPY_RUNBOOK/, name);
    assert.match(r.stderr, re, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
  }
  const j = await h.run(['run', path.join(dir, 'key.yaml'), '--json']);
  assert.equal(j.json().error.code, 'ERR_RCOPY_RUNBOOK');
  await h.fails(2, 'ERR_RCOPY_NOT_FOUND', 'run', path.join(dir, 'none.yaml'));
  await h.fails(2, 'ERR_RCOPY_USAGE', 'run', path.join(dir, 'var.yaml'), '--var', 'noequals');
  assert.deepEqual(listing(h.dir), []);
});

/** The command groups a runbook uses (from its run: lines, and pair for wait:). */
function groupsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const groups = new Set<string>();
  for (const m of text.matchAll(/^\s*(?:-\s+)?run:\s*(?:\[\s*)?(?:rcopy[\s,]+)?["']?([a-z]+)/gm)) groups.add(m[1]!);
  if (/^\s*(?:-\s+)?wait:/m.test(text)) groups.add('pair');
  return [...groups];
}

/** The rcopy commands of a crontab sample (the part after `rcopy`, up to a pipe or redirection). */
function cronCommands(file: string): string[][] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#') && !/^[A-Z_]+=/.test(l.trim()))
    .map((l) => {
      const cmd = l.trim().split(/\s+/).slice(5).join(' ');
      const m = /(?:^|\s)rcopy\s+([^|>;&]*)/.exec(cmd);
      assert.ok(m, `no rcopy command in cron line: ${l}`);
      return m[1]!.trim().split(/\s+/);
    });
}

/** The runbooks among the samples: YAML files with a top-level steps: list (not the configs). */
const sampleFiles = fs.existsSync(SAMPLES)
  ? fs
      .readdirSync(SAMPLES)
      .filter((f) => /\.ya?ml$/.test(f) && /^steps:/m.test(fs.readFileSync(path.join(SAMPLES, f), 'utf8')))
      .sort()
  : [];

for (const name of sampleFiles) {
  const file = path.join(SAMPLES, name);
  const missing = groupsOf(file).filter((g) => !hasCommand(g));
  homeTest(`sample runbook ${name} runs in a fresh home`, { skip: missing.length ? `needs the ${missing.join(', ')} command(s)` : false, timeout: 180_000 }, async (h) => {
    const before = listing(h.dir);
    const d = await h.run(['run', file, '--dry-run']);
    assert.equal(d.code, 0, `dry run of ${name}: ${d.stdout}${d.stderr}`);
    assert.deepEqual(listing(h.dir), before, 'the dry run changed the home');
    const r = await h.run(['run', file, '--json'], { timeoutMs: 170_000 });
    const j = JSON.parse(r.stdout || '{}');
    assert.equal(r.code, 0, `${name} failed at ${JSON.stringify(j.failedStep ?? j.error)}\n${r.stdout}\n${r.stderr}`);
    assert.equal(j.ok, true);
    // a sample that comes with a crontab: its commands work on the home the runbook set up
    const cron = file.replace(/\.ya?ml$/, '.cron');
    if (fs.existsSync(cron)) {
      for (const args of cronCommands(cron)) {
        const c = await h.run(args);
        assert.equal(c.code, 0, `cron command rcopy ${args.join(' ')}: ${c.stdout}${c.stderr}`);
      }
    }
  });
}

test('the samples cover the runbooks the issue asks for', () => {
  for (const f of [
    'two-site-async-pair.yaml',
    'planned-outage.yaml',
    'link-loss-recovery.yaml',
    'takeover-failback.yaml',
    'three-site-cascade.yaml',
    'backup-rotation.yaml',
    'stats-collection.yaml',
    'stats-collection.cron',
    'stats-config.yaml',
  ]) {
    assert.ok(fs.existsSync(path.join(SAMPLES, f)), `samples/${f} exists`);
  }
});

homeTest('rcopy completion bash|zsh: scripts generated from the command tree, array names completed', async (h) => {
  const dir = h.tempDir();
  const bash = await h.ok('completion', 'bash');
  assert.match(bash, /^_rcopy\(\) \{/m);
  assert.match(bash, /complete -F _rcopy rcopy/);
  assert.match(bash, /'' *\) echo '[^']*\barray\b[^']*\bvolume\b[^']*\bio\b/);
  const zsh = await h.ok('completion', 'zsh');
  assert.match(zsh, /^#compdef rcopy/);
  assert.match(zsh, /'volume create'\) subs=\(\); opts=\(.*'--size:volume size/);
  await h.fails(2, /ERR_RCOPY_USAGE: no completion for 'powershell'/, 'completion', 'powershell');
  await h.ok('array', 'create', 'siteA');
  await h.ok('array', 'create', 'siteB');
  // drive the bash function the way bash does, with rcopy on PATH
  const script = path.join(dir, 'rcopy.bash');
  fs.writeFileSync(script, bash);
  fs.writeFileSync(path.join(dir, 'rcopy'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  const complete = (line: string): string[] => {
    const r = spawnSync('bash', ['-c', `source "${script}"; COMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}; _rcopy; printf '%s\\n' "\${COMPREPLY[@]}"`, 'x', line], {
      env: { ...h.env, PATH: `${dir}:${process.env.PATH}` },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };
  assert.ok(complete('rcopy ').includes('volume'));
  assert.ok(complete('rcopy ').includes('run'));
  assert.deepEqual(complete('rcopy vol'), ['volume']);
  assert.deepEqual(complete('rcopy volume c'), ['create']);
  assert.ok(complete('rcopy volume create --s').includes('--size'));
  assert.deepEqual(complete('rcopy array show site'), ['siteA', 'siteB']);
  assert.deepEqual(complete('rcopy volume create siteB'), ['siteB:']);
  assert.deepEqual(complete('rcopy array list --format y'), ['yaml']);
  assert.deepEqual(complete('rcopy io write siteA:v1 --offset 1M --le'), ['--length']);
  assert.equal(h.pids().length, 0, 'completion started no controller');
});

/** Leaf commands (the ones that run something), as word paths. */
function leaves(c: Command, prefix: string[] = []): string[][] {
  if (c.commands.length === 0) return [prefix];
  return c.commands.flatMap((s) => leaves(s, [...prefix, s.name()]));
}

homeTest('rcopy help COMMAND shows an example for every command', async (h) => {
  const all = leaves(buildProgram());
  assert.ok(all.length >= 15, `found ${all.length} commands`);
  const without: string[] = [];
  const queue = [...all];
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      for (let words = queue.shift(); words; words = queue.shift()) {
        const r = await h.run(['help', ...words]);
        assert.equal(r.code, 0, `rcopy help ${words.join(' ')}: ${r.stderr}`);
        if (!/\nExamples?:\n {2}\$ rcopy /.test(r.stdout) && !/\nExamples?:\n {2}\$ /.test(r.stdout)) without.push(words.join(' '));
      }
    }),
  );
  assert.deepEqual(without.sort(), [], `commands whose help has no example: ${without.join(', ')}`);
});
