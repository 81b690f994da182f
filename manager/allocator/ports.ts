/**
 * Published ports of the ingress routing mesh (pure): ports the user chose are reserved, a
 * published port of 0 gets one from docker's dynamic range 30000-32767, next-fit (a released
 * port comes back only after the cursor wraps). Keyed by protocol, so tcp/30000 and udp/30000
 * are different ports. Deterministic: the same calls give the same ports.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** First port handed out for a published port of 0 (docker's range). */
export const dynamicPortMin = 30_000;
/** Last port handed out for a published port of 0. */
export const dynamicPortMax = 32_767;

/** Ports in use, by "protocol/port", with their owner (a service ID). */
export class PortAllocator {
  private readonly owners = new Map<string, string>();
  private cursor = dynamicPortMin - 1;

  /** The owner of a port, if it is in use. */
  ownerOf(protocol: string, port: number): string | undefined {
    return this.owners.get(`${protocol}/${port}`);
  }

  /** Marks a port the user chose as used by `owner`; CONFLICT when another owner has it. */
  reserve(protocol: string, port: number, owner: string): void {
    const key = `${protocol}/${port}`;
    const holder = this.owners.get(key);
    if (holder !== undefined && holder !== owner) throw new TsswarmError(ErrorCode.CONFLICT, `published port ${key} is already used by service ${holder}`);
    this.owners.set(key, owner);
  }

  /** The next free port of the dynamic range for `owner`; CONFLICT when the range is used up. */
  allocate(protocol: string, owner: string): number {
    const size = dynamicPortMax - dynamicPortMin + 1;
    let port = this.cursor;
    for (let step = 0; step < size; step++) {
      port = port >= dynamicPortMax ? dynamicPortMin : port + 1;
      const key = `${protocol}/${port}`;
      if (this.owners.has(key)) continue;
      this.owners.set(key, owner);
      this.cursor = port;
      return port;
    }
    throw new TsswarmError(ErrorCode.CONFLICT, `no free ${protocol} port left in ${dynamicPortMin}-${dynamicPortMax} to publish`);
  }

  /** Frees a port if `owner` holds it. */
  release(protocol: string, port: number, owner: string): void {
    const key = `${protocol}/${port}`;
    if (this.owners.get(key) === owner) this.owners.delete(key);
  }
}
