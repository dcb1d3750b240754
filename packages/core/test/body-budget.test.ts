import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../src/cancellation.js';
import { BodyBudget, type BodyShare } from '../src/http/body-budget.js';

const share = (): BodyShare => ({ bytes: 0, region: 'shared' });
/** 100 bytes, 30 of them reserved for small bodies. */
const budget = () => new BodyBudget(100, 30, 60_000);

describe('BodyBudget', () => {
  it('gives a small body room from the reserve while a large body waits for the shared part', async () => {
    const bodies = budget();
    const holder = share();
    expect(bodies.tryTake(60, false, holder)).toBe(true);
    const large = share();
    const waiting = bodies.take(20, false, large, new Cancellation());
    const small = share();
    expect(bodies.tryTake(10, true, small)).toBe(true);
    expect(small).toEqual({ bytes: 10, region: 'reserve' });
    expect(bodies.waiting).toBe(1);

    bodies.give(holder);
    expect(await waiting).toBe('granted');
    expect(large).toEqual({ bytes: 20, region: 'shared' });
    expect(bodies.bytes).toBe(30);
  });

  it('queues a small body first come first served for the shared part once the reserve is full', async () => {
    const bodies = budget();
    const inReserve = share();
    expect(bodies.tryTake(30, true, inReserve)).toBe(true);
    const holder = share();
    expect(bodies.tryTake(60, false, holder)).toBe(true);
    const order: string[] = [];
    const large = bodies.take(20, false, share(), new Cancellation()).then(() => order.push('large'));
    const small = bodies.take(20, true, share(), new Cancellation()).then(() => order.push('small'));
    expect(bodies.tryTake(5, true, share())).toBe(false);

    bodies.give(holder, 40);
    await Promise.all([large, small]);
    expect(order).toEqual(['large', 'small']);
  });

  it('lets a small body waiting behind a large one in when the reserve frees', async () => {
    const bodies = budget();
    const inReserve = share();
    expect(bodies.tryTake(30, true, inReserve)).toBe(true);
    expect(bodies.tryTake(70, false, share())).toBe(true);
    void bodies.take(50, false, share(), new Cancellation());
    const small = share();
    const smallGrant = bodies.take(25, true, small, new Cancellation());

    bodies.give(inReserve);
    expect(await smallGrant).toBe('granted');
    expect(small.region).toBe('reserve');
    expect(bodies.waiting).toBe(1);
  });

  it('never holds more than its bytes, and large bodies only in the shared part', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.boolean(), fc.boolean()), { maxLength: 60 }),
        (steps) => {
          const bodies = budget();
          const held: { share: BodyShare; small: boolean }[] = [];
          for (const [bytes, small, give] of steps) {
            if (give && held.length > 0) bodies.give(held.shift()!.share);
            const taken = share();
            if (bodies.tryTake(bytes, small, taken)) held.push({ share: taken, small });
            const inShared = held
              .filter((h) => h.share.region === 'shared')
              .reduce((sum, h) => sum + h.share.bytes, 0);
            const inReserve = held
              .filter((h) => h.share.region === 'reserve')
              .reduce((sum, h) => sum + h.share.bytes, 0);
            expect(bodies.bytes).toBeLessThanOrEqual(100);
            expect(inShared).toBeLessThanOrEqual(70);
            expect(held.every((h) => h.small || h.share.region === 'shared')).toBe(true);
            expect(inReserve).toBeLessThanOrEqual(30);
            expect(bodies.bytes).toBe(held.reduce((sum, h) => sum + h.share.bytes, 0));
          }
        },
      ),
    );
  });
});
