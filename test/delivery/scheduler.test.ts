// The scheduler seam beside the clock (src/domain/clock.ts): the test implementation fires
// timers only when told, in due order, with the clock at their time; `every` re-arms itself.
import { describe, expect, test } from "bun:test";
import { every, ManualScheduler, systemScheduler } from "../../src/domain/clock.ts";
import { fakeClock } from "../support/fixtures.ts";

describe("ManualScheduler", () => {
  test("fires nothing until advanced, then what is due, in due order, each at its own time", () => {
    const clock = fakeClock(1_000);
    const s = new ManualScheduler(clock);
    const fired: [string, number][] = [];
    s.setTimeout(() => fired.push(["b", clock.now()]), 200);
    s.setTimeout(() => fired.push(["a", clock.now()]), 100);
    s.setTimeout(() => fired.push(["c", clock.now()]), 300);
    expect(s.pending).toBe(3);
    expect(s.nextAt()).toBe(1_100);
    expect(s.advance(99)).toBe(0);
    expect(fired).toEqual([]);
    expect(s.advance(101)).toBe(2);
    expect(fired).toEqual([
      ["a", 1_100],
      ["b", 1_200],
    ]);
    // The clock ends where it was advanced to, not at the last timer.
    expect(clock.now()).toBe(1_200);
    s.advance(1_000);
    expect(fired.map(([name]) => name)).toEqual(["a", "b", "c"]);
    expect(clock.now()).toBe(2_200);
    expect(s.pending).toBe(0);
  });

  test("timers due at the same time fire in the order they were armed; a 0 or negative delay is due now", () => {
    const s = new ManualScheduler();
    const fired: string[] = [];
    for (const name of ["x", "y", "z"]) s.setTimeout(() => fired.push(name), 50);
    s.setTimeout(() => fired.push("now"), -5);
    s.advance(0);
    expect(fired).toEqual(["now"]);
    s.advance(50);
    expect(fired).toEqual(["now", "x", "y", "z"]);
  });

  test("a cleared timer never fires, and clearing twice or an unknown handle is harmless", () => {
    const s = new ManualScheduler();
    let fired = 0;
    const h = s.setTimeout(() => fired++, 10);
    s.clearTimeout(h);
    s.clearTimeout(h);
    s.clearTimeout(new ManualScheduler().setTimeout(() => fired++, 10));
    expect(s.pending).toBe(0);
    expect(s.advance(1_000)).toBe(0);
    expect(fired).toBe(0);
  });

  test("a timer armed by a timer that fired fires in the same advance if it is due by then", () => {
    const clock = fakeClock(0);
    const s = new ManualScheduler(clock);
    const at: number[] = [];
    const chain = () => {
      at.push(clock.now());
      if (at.length < 5) s.setTimeout(chain, 30);
    };
    s.setTimeout(chain, 30);
    expect(s.advance(100)).toBe(3);
    expect(at).toEqual([30, 60, 90]);
    s.advance(100);
    expect(at).toEqual([30, 60, 90, 120, 150]);
  });
});

describe("every", () => {
  test("runs as often as the time advanced allows, and not after stop", () => {
    const clock = fakeClock(0);
    const s = new ManualScheduler(clock);
    const at: number[] = [];
    const job = every(s, 1_000, () => at.push(clock.now()));
    s.advance(3_500);
    expect(at).toEqual([1_000, 2_000, 3_000]);
    job.stop();
    job.stop();
    expect(s.pending).toBe(0);
    s.advance(10_000);
    expect(at).toHaveLength(3);
  });

  test("a run that throws does not stop the next ones: it is re-armed first", () => {
    const s = new ManualScheduler();
    let runs = 0;
    every(s, 10, () => {
      runs++;
      throw new Error("boom");
    });
    expect(() => s.advance(10)).toThrow("boom");
    expect(s.pending).toBe(1);
    expect(() => s.advance(10)).toThrow("boom");
    expect(runs).toBe(2);
  });
});

test("systemScheduler fires on the event loop", async () => {
  const fired = await new Promise<number>((resolve) => {
    const started = Date.now();
    systemScheduler.setTimeout(() => resolve(Date.now() - started), 1);
  });
  expect(fired).toBeGreaterThanOrEqual(0);
});
