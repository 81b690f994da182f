/**
 * VXLAN network identifiers (pure). Overlay networks get VNIs from 4096 up (below is left for
 * operators, as Docker does), handed out next-fit so a just-freed VNI is not reused at once: a
 * late packet for a deleted network must not land in its successor.
 */
import { assert } from '../../lib/assert.js';
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';

/** First VNI handed out automatically. */
export const defaultVniMin = 4096;
/** Largest VNI the 24-bit field holds. */
export const maxVni = 0xffffff;

/** Serializable state of a VniAllocator. */
export interface VniState {
  readonly min: number;
  readonly max: number;
  /** The VNI handed out last by automatic allocation (next-fit cursor); min - 1 at first. */
  readonly cursor: number;
  /** VNIs in use, ascending. */
  readonly used: readonly number[];
}

/** Hands out and takes back VNIs; deterministic, state round-trips through JSON. */
export class VniAllocator {
  private readonly used: Set<number>;
  private cursor: number;

  constructor(
    readonly min = defaultVniMin,
    readonly max = maxVni,
    state?: Pick<VniState, 'cursor' | 'used'>,
  ) {
    assert(Number.isInteger(min) && Number.isInteger(max) && min >= 1 && min <= max && max <= maxVni, `bad VNI range ${min}..${max}`);
    this.used = new Set(state?.used ?? []);
    this.cursor = state?.cursor ?? min - 1;
  }

  /** Rebuilds an allocator from its serialized state. */
  static fromState(state: VniState): VniAllocator {
    return new VniAllocator(state.min, state.max, state);
  }

  /** The next free VNI after the cursor (wrapping), marked used. Throws CONFLICT when none is left. */
  allocate(): number {
    const size = this.max - this.min + 1;
    if (this.used.size >= size) {
      throw new TsswarmError(ErrorCode.CONFLICT, `no free VNI left in ${this.min}..${this.max} (${size} in use)`);
    }
    let vni = this.cursor;
    for (let step = 0; step < size; step++) {
      vni = vni >= this.max || vni < this.min ? this.min : vni + 1;
      if (!this.used.has(vni)) {
        this.used.add(vni);
        this.cursor = vni;
        return vni;
      }
    }
    assert(false, 'VNI scan found no free VNI although the count said there was one');
  }

  /** Checks that `vni` could be reserved, without reserving it. */
  check(vni: number): void {
    if (!Number.isInteger(vni) || vni < 1 || vni > maxVni) {
      throw invalidArgument(`invalid VNI ${vni}: must be a whole number from 1 to ${maxVni}`);
    }
    if (this.used.has(vni)) throw new TsswarmError(ErrorCode.CONFLICT, `VNI ${vni} is already used by another network`);
  }

  /** Reserves a VNI the user chose (any valid VNI, also below `min`). */
  reserve(vni: number): void {
    this.check(vni);
    this.used.add(vni);
  }

  /** Frees a VNI; it comes back only after the cursor wraps around. */
  release(vni: number): void {
    if (!this.used.delete(vni)) throw new TsswarmError(ErrorCode.NOT_FOUND, `VNI ${vni} is not allocated`);
  }

  /** True when `vni` is in use. */
  has(vni: number): boolean {
    return this.used.has(vni);
  }

  /** Serializable state. */
  toState(): VniState {
    return { min: this.min, max: this.max, cursor: this.cursor, used: [...this.used].sort((a, b) => a - b) };
  }
}
