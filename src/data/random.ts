/**
 * A small seeded random source, so that splits, shuffles and synthetic sets are
 * the same on every run and every machine (Math.random cannot be seeded).
 */

/** mulberry32: a 32-bit generator, good enough for shuffling and noise. Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place, driven by `random`. */
export function shuffleInPlace<T>(items: T[] | Int32Array, random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
}

/** 0..n-1 in an order fixed by `seed`. */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, seededRandom(seed));
  return order;
}

/** A standard normal sample (Box–Muller). */
export function gaussian(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
