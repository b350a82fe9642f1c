/** NumMap (the reference index's hash map) against a Map, under random sets and deletes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NumMap } from '../../../src/engine/repl/num-map.js';
import { rng } from '../../helpers.js';

test('NumMap agrees with a Map through random sets, deletes and growth', () => {
  const rand = rng(7);
  for (const keySpace of [40, 5000, 2 ** 53 - 2]) {
    const m = new NumMap(4, true);
    const model = new Map<number, [number, number]>();
    const keys: number[] = [];
    for (let op = 0; op < 20000; op++) {
      const r = rand();
      const key = keys.length && r < 0.5 ? keys[Math.floor(rand() * keys.length)]! : Math.floor(rand() * keySpace);
      if (r < 0.3) {
        assert.equal(m.delete(key), model.delete(key));
      } else {
        const v = Math.floor(rand() * 2 ** 52);
        m.set(key, v, op);
        model.set(key, [v, op]);
        keys.push(key);
      }
      if (op % 997 === 0 || keySpace === 40) {
        assert.equal(m.size, model.size);
        for (const k of keys.slice(-50)) {
          const want = model.get(k);
          const at = m.find(k);
          assert.equal(at >= 0, want !== undefined, `key ${k}`);
          if (want) assert.deepEqual([m.valueAt(at), m.auxAt(at)], want);
        }
      }
    }
    for (const [k, [v]] of model) assert.equal(m.get(k), v);
    m.clear();
    assert.equal(m.size, 0);
    assert.equal(m.get(keys[0]!), undefined);
  }
});
