/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32), so that every random
 * choice in the scheduler, raft and the simulators can be replayed from one seed.
 */
import { assert } from './assert.js';

/** Source of randomness; inject it, never call Math.random in a core. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max] inclusive. */
  range(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A new array with the items in random order. */
  shuffle<T>(items: readonly T[]): T[];
  /** An independent generator derived from this one (for a subcomponent). */
  fork(): Rng;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128** over 4 words of state. */
class Xoshiro128 implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    const mix = splitmix32(seed);
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  private nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  int(n: number): number {
    assert(Number.isInteger(n) && n > 0, `rng.int needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  range(min: number, max: number): number {
    assert(Number.isInteger(min) && Number.isInteger(max) && min <= max, `bad range ${min}..${max}`);
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'rng.pick of an empty array');
    return items[this.int(items.length)] as T;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  fork(): Rng {
    return new Xoshiro128(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A generator seeded with `seed` (any 32-bit integer); the same seed gives the same sequence. */
export function seededRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

/** A generator seeded from the process's entropy, for production paths that still take an Rng. */
export function randomRng(): Rng {
  return new Xoshiro128((Math.random() * 0x1_0000_0000) >>> 0);
}
