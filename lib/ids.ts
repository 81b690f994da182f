/**
 * Object identifiers: 25 lowercase alphanumeric characters, like Swarm's IDs (about 129 bits).
 */
import { customAlphabet } from 'nanoid';
import type { Rng } from './rng.js';

/** The characters an ID is made of. */
export const idAlphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
/** Length of every object ID. */
export const idLength = 25;

const randomId = customAlphabet(idAlphabet, idLength);

/** A new random object ID. */
export function newId(): string {
  return randomId();
}

/** A reproducible ID drawn from `rng`, for simulators and tests. */
export function newIdFrom(rng: Rng): string {
  let id = '';
  for (let i = 0; i < idLength; i++) id += idAlphabet[rng.int(idAlphabet.length)];
  return id;
}

/** True when `s` has the form of an object ID. */
export function isId(s: string): boolean {
  return s.length === idLength && /^[0-9a-z]+$/.test(s);
}

/** The short form shown in tables (12 characters, as docker does). */
export function shortId(id: string): string {
  return id.slice(0, 12);
}
