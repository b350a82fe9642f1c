/** The engine's offline reads and array-file removal that the CLI calls instead of doing them itself. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { awaitControllerExit } from '../../../src/engine/array/controller-process.js';
import { deleteArrayFiles } from '../../../src/engine/array/home.js';
import { hasBackupOffline, readPairsOffline } from '../../../src/engine/array/offline.js';
import { homeTest } from '../../helpers.js';

homeTest('offline reads find nothing where there is no store, and deleteArrayFiles removes a directory', async (h) => {
  const dir = path.join(h.dir, 'arrays', 'X');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'mgmt.db'), 'not a database');
  for (const a of ['X', 'missing']) {
    assert.deepEqual(readPairsOffline(a, h.dir, { group: 'g' }), []);
    assert.equal(hasBackupOffline(a, h.dir, 1), false);
  }
  // a pid that is not the array's controller: nothing to wait for, nothing is killed
  await awaitControllerExit(dir, 2 ** 22 + 1);
  deleteArrayFiles('X', h.dir);
  assert.ok(!fs.existsSync(dir));
});

homeTest('readPairsOffline reads the pairs of a group from a real array; hasBackupOffline finds none in a new array', async (h) => {
  await h.ok('array', 'create', 'A');
  assert.deepEqual(readPairsOffline('A', h.dir, { group: 'g' }), []);
  assert.equal(hasBackupOffline('A', h.dir, 1), false);
});
