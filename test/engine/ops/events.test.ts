/** The kind of each event text the engine writes (rcopy events --json `kind`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf } from '../../../src/engine/ops/events.js';

test('events: each kind from the texts the engine and the controller write', () => {
  const cases: Array<[string, string]> = [
    ['COPY -> PAIR (initial copy complete)', 'state'],
    ['PAIR -> PSUE (link down past the blockade watch)', 'suspension'],
    ['PAIR -> PFUL (journal over 80%)', 'pful'],
    ['PFUL -> PFUS (journal full)', 'journal-overflow'],
    ['verify: 128 of 128 tracks compared, 0 differ', 'verify'],
    ['controller started (pid 1, start 2)', 'controller'],
    ["export client connected to 'v' (volume v, 1 client)", 'export'],
    ["export client disconnected from 'v' (read 0 bytes, wrote 65536 bytes)", 'export'],
    // the texts of src/engine/drill/drills.ts
    ['drill d1 started on group g1 at seq 42', 'drill'],
    ['drill d1 stopped (expired)', 'drill'],
    ['pair created', 'other'],
  ];
  for (const [text, kind] of cases) assert.equal(kindOf(text), kind, text);
});
