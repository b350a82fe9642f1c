import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { StorageArray } from '../../../src/engine/array/array.js';
import { arrayDir, deleteArrayFiles } from '../../../src/engine/array/home.js';
import { awaitControllerExit, pidFile } from '../../../src/engine/array/controller-process.js';
import { peekArray, readPairsOffline } from '../../../src/engine/array/offline.js';
import { withDir } from '../../helpers.js';

test('an array read without its controller: identity, pairs of a group, and its files deleted', async () => {
  await withDir('rcopy-offline-', async (home) => {
    const dir = arrayDir('siteA', home);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const a = await StorageArray.create(dir, { name: 'siteA', serial: '64015', trackSize: 4096 });
    await a.createVolume('db', 1024 * 1024);
    await a.close();
    const info = peekArray(dir);
    assert.equal(info.name, 'siteA');
    assert.equal(info.serial, '64015');
    assert.equal(info.volumes, 1);
    // no pairs table yet, and no such array: no pairs
    assert.deepEqual(readPairsOffline('siteA', home, { group: 'g1' }), []);
    assert.deepEqual(readPairsOffline('nosuch', home, { group: 'g1' }), []);
    const db = new Database(path.join(dir, 'mgmt.db'));
    db.exec('CREATE TABLE pairs (id TEXT PRIMARY KEY, role TEXT NOT NULL, remote_array TEXT NOT NULL, group_name TEXT)');
    db.prepare('INSERT INTO pairs VALUES (?, ?, ?, ?)').run('p1', 'P', 'siteB', 'g1');
    db.prepare('INSERT INTO pairs VALUES (?, ?, ?, ?)').run('p2', 'S', 'siteC', 'g2');
    db.close();
    assert.deepEqual(readPairsOffline('siteA', home, { group: 'g1' }), [{ id: 'p1', role: 'P', remoteArray: 'siteB' }]);
    assert.deepEqual(readPairsOffline('siteA', home, { group: 'g2' }), [{ id: 'p2', role: 'S', remoteArray: 'siteC' }]);
    deleteArrayFiles('siteA', home);
    assert.equal(fs.existsSync(dir), false);
    deleteArrayFiles('siteA', home); // absent: nothing to do
  });
});

test('a controller that does not exit when asked is killed and its pid file removed', async () => {
  await withDir('rcopy-offline-', async (dir) => {
    // a process whose command line names a controller (livePid checks it), that ignores SIGTERM
    const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)", 'controller'], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      fs.writeFileSync(pidFile(dir), `${child.pid}\n`);
      await awaitControllerExit(dir, child.pid!, { graceMs: 200 });
      await exited;
      assert.equal(child.signalCode, 'SIGKILL');
      assert.equal(fs.existsSync(pidFile(dir)), false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

test('a controller that has exited is left alone', async () => {
  await withDir('rcopy-offline-', async (dir) => {
    fs.writeFileSync(pidFile(dir), '999999999\n');
    await awaitControllerExit(dir, 999999999, { graceMs: 200 });
    assert.equal(fs.existsSync(pidFile(dir)), true); // not ours to remove: no controller ran
  });
});
