/** The engine's offline reads and array-file removal that the CLI calls instead of doing them itself. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { arraysWithBackup, deleteArrayFiles, readPairsOffline, stopController } from '../../src/engine/offline.js';
import { TestHome } from '../helpers.js';

test('offline reads find nothing where there is no store, and deleteArrayFiles removes a directory', async () => {
  const h = new TestHome();
  try {
    const dir = path.join(h.dir, 'arrays', 'X');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'mgmt.db'), 'not a database');
    assert.deepEqual(readPairsOffline(h.dir, ['X', 'missing'], 'g'), []);
    assert.deepEqual(arraysWithBackup(h.dir, ['X', 'missing'], 1), []);
    // a pid that is not the array's controller: nothing to wait for, nothing is killed
    await stopController(dir, 2 ** 22 + 1);
    deleteArrayFiles(dir);
    assert.ok(!fs.existsSync(dir));
  } finally {
    await h.cleanup();
  }
});

test('readPairsOffline reads the pairs of a group from real arrays; arraysWithBackup finds none in a new array', async () => {
  const h = new TestHome();
  try {
    await h.ok('array', 'create', 'A');
    assert.deepEqual(readPairsOffline(h.dir, ['A'], 'g'), []);
    assert.deepEqual(arraysWithBackup(h.dir, ['A'], 1), []);
  } finally {
    await h.cleanup();
  }
});
