import { describe, expect, it } from 'vitest';
import { TurnQueue } from '../src/http/turns.js';

describe('TurnQueue', () => {
  it('lets its waiters go in arrival order, one per event-loop turn, with the I/O phases in between', async () => {
    const turns = new TurnQueue();
    const seen: string[] = [];
    const waiters = ['a', 'b', 'c'].map((name) =>
      turns.next().then(() => {
        seen.push(name);
        // A timer already due when the next turn starts runs in that turn's timers phase: before the next
        // waiter only if that waiter goes a turn later (as a parse that takes a few ms would make it due).
        setTimeout(() => seen.push(`timer after ${name}`), 1);
        const until = performance.now() + 3;
        while (performance.now() < until) {
          // the waiter's own work
        }
      }),
    );
    expect(turns.length).toBe(3);
    await Promise.all(waiters);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(seen).toEqual(['a', 'timer after a', 'b', 'timer after b', 'c', 'timer after c']);
    expect(turns.length).toBe(0);
  });

  it('starts again after it ran empty', async () => {
    const turns = new TurnQueue();
    await turns.next();
    let released = false;
    const next = turns.next().then(() => {
      released = true;
    });
    expect(released).toBe(false);
    await next;
    expect(released).toBe(true);
  });
});
