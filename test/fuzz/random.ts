// A small seeded generator (xoshiro128**), so that every fuzz input can be made again from the
// run's seed and the input's index alone: `npm run fuzz -- --seed S --replay I`.

/** splitmix32: spreads a seed and an index over the generator's four words. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Random {
  readonly #s = new Uint32Array(4);

  /** The generator for input `index` of the run seeded `seed`: independent of every other input. */
  constructor(seed: number, index = 0) {
    const base = splitmix32(seed)();
    const mix = splitmix32((base ^ Math.imul(index + 1, 0x27d4eb2d)) >>> 0);
    for (let i = 0; i < 4; i++) this.#s[i] = mix();
    if (this.#s.every((word) => word === 0)) this.#s[0] = 1;
  }

  /** 32 random bits. */
  u32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A whole number in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * n);
  }

  /** A whole number in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** An item chosen by weight: `[[weight, item], ...]`. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((sum, [weight]) => sum + weight, 0);
    let at = this.int(total);
    for (const [weight, item] of items) {
      if (at < weight) return item;
      at -= weight;
    }
    return items[items.length - 1]![1];
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
