/**
 * Checking a NodeSpec a user sends with UpdateNode: known role and availability values (proto3 enums
 * are open, so any number can arrive off the wire) and sane labels. Every problem is reported at
 * once, in one INVALID_ARGUMENT error.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { NodeAvailability, NodeRole, type NodeSpec } from '../../proto/index.js';

/** Most labels a node's spec may carry. */
export const maxNodeLabels = 256;
/** Longest label key, in characters. */
export const maxLabelKeyChars = 256;
/** Longest label value, in characters. */
export const maxLabelValueChars = 4096;
/** Longest node name (spec.annotations.name), in characters. */
export const maxNodeNameChars = 256;

const roles: readonly number[] = Object.values(NodeRole);
const availabilities: readonly number[] = Object.values(NodeAvailability);

/** The problems of a set of labels, each naming the label (empty when the labels are fine). */
export function labelProblems(labels: Readonly<Record<string, string>>, maxLabels: number): string[] {
  const problems: string[] = [];
  const entries = Object.entries(labels);
  if (entries.length > maxLabels) problems.push(`at most ${maxLabels} labels are allowed, not ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.trim() === '') problems.push('a label key must not be empty');
    else if (key.length > maxLabelKeyChars) problems.push(`label key ${JSON.stringify(key.slice(0, 32))}… is longer than ${maxLabelKeyChars} characters`);
    if (value.length > maxLabelValueChars) problems.push(`the value of label ${JSON.stringify(key)} is longer than ${maxLabelValueChars} characters`);
  }
  return problems;
}

/** Throws INVALID_ARGUMENT, listing every problem, when `spec` is not a valid node spec. */
export function validateNodeSpec(spec: NodeSpec | undefined): asserts spec is NodeSpec {
  if (spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid node spec: a spec is required');
  const problems: string[] = [];
  if (!roles.includes(spec.role)) {
    problems.push(`role ${spec.role} is not one of ${names(NodeRole)}`);
  }
  if (!availabilities.includes(spec.availability)) {
    problems.push(`availability ${spec.availability} is not one of ${names(NodeAvailability)}`);
  }
  const name = spec.annotations?.name ?? '';
  if (name.length > maxNodeNameChars) problems.push(`the node name is longer than ${maxNodeNameChars} characters`);
  problems.push(...labelProblems(spec.annotations?.labels ?? {}, maxNodeLabels));
  if (problems.length > 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid node spec: ${problems.join('; ')}`);
}

function names(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([key, value]) => `${value} (${key.toLowerCase()})`)
    .join(', ');
}
