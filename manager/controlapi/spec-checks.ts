/**
 * Small checks the service and network spec validators share: object names, enum values that came
 * off the wire (proto3 enums are open, so any number can arrive), whole numbers, durations, sizes
 * in words. Each returns a problem (a sentence naming the field) or nothing.
 */

/** Names of services and networks: docker's pattern. */
export const objectNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Longest service or network name, in characters (a DNS label). */
export const maxObjectNameChars = 63;

/** The problem with `name` as the name of a `kind`, if any (empty names are the caller's business). */
export function nameProblem(kind: string, name: string): string | undefined {
  if (name.length > maxObjectNameChars) return `${kind} name ${JSON.stringify(name.slice(0, 80))} is longer than ${maxObjectNameChars} characters`;
  if (!objectNamePattern.test(name)) {
    return `${kind} name ${JSON.stringify(name)} is invalid: it must start with a letter or digit and contain only letters, digits, _ . and -`;
  }
  return undefined;
}

/** The problem with an enum value that is not one of `values` (a generated `as const` object). */
export function enumProblem(field: string, value: number, values: Readonly<Record<string, number>>): string | undefined {
  if (Object.values(values).includes(value)) return undefined;
  const known = Object.entries(values)
    .map(([key, v]) => `${v} (${key.toLowerCase().replace(/_/g, '-')})`)
    .join(', ');
  return `${field} ${value} is not one of ${known}`;
}

/** The problem with a count that must be a whole number ≥ `min`. */
export function countProblem(field: string, value: number, min = 0): string | undefined {
  if (Number.isSafeInteger(value) && value >= min) return undefined;
  return `${field} must be a whole number of at least ${min}, not ${value}`;
}

/** A Duration's length in nanoseconds (0 when absent). */
export function durationNanos(d: { readonly seconds: number; readonly nanos: number } | undefined): number {
  return d === undefined ? 0 : d.seconds * 1e9 + d.nanos;
}

/** The problem with a duration that must not be negative. */
export function nonNegativeDurationProblem(field: string, d: { readonly seconds: number; readonly nanos: number } | undefined): string | undefined {
  return durationNanos(d) < 0 ? `${field} must not be negative` : undefined;
}

const mib = 1024 * 1024;

/** Bytes in words: "6 MiB", "1.5 GiB", "512 bytes". */
export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [1024 * 1024 * mib, 'TiB'],
    [1024 * mib, 'GiB'],
    [mib, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) {
    if (Math.abs(bytes) >= size) return `${Number((bytes / size).toFixed(2))} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** Nano-CPUs in words: "0.5 CPUs". */
export function formatCpus(nanoCpus: number): string {
  return `${Number((nanoCpus / 1e9).toFixed(9))} CPUs`;
}
