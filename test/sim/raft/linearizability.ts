/**
 * A linearizability checker for client histories, in the style of Wing & Gong with Lowe's
 * memoization (as in Porcupine): search for an order of the operations that respects real time
 * and the sequential model, caching (set of linearized ops, model state) pairs already explored.
 * The history is split by key first; each key is an independent register, so the whole history
 * is linearizable iff each key's is (linearizability is compositional).
 */
import { assert } from '../../../lib/assert.js';

/** A register operation as invoked by a client. */
export type RegisterInput = { readonly kind: 'put'; readonly value: string } | { readonly kind: 'get' };

/** One completed, failed-unknown or pending client operation on `key`. */
export interface HistoryOp {
  readonly key: string;
  readonly input: RegisterInput;
  /** For a get: the value read. Unused for puts. */
  readonly output: string | undefined;
  /** When the client invoked it (strictly increasing logical time). */
  readonly call: number;
  /** When the client saw the answer; Infinity when it never did (the op may or may not have happened). */
  readonly ret: number;
}

/** The verdict for one history. */
export type LinearizabilityResult =
  | { readonly ok: true; readonly explored: number }
  | { readonly ok: false; readonly key: string; readonly reason: 'not linearizable' | 'search budget exceeded'; readonly explored: number };

/** Most search steps per key before the checker gives up (reported as a failure, never as a pass). */
export const defaultSearchBudgetSteps = 2_000_000;

interface ListNode {
  readonly kind: 'call' | 'return' | 'head';
  readonly op: number;
  match: ListNode | undefined;
  prev: ListNode | undefined;
  next: ListNode | undefined;
}

/** Checks a whole history (all keys); the initial value of every key is ''. */
export function checkLinearizable(history: readonly HistoryOp[], budgetSteps = defaultSearchBudgetSteps): LinearizabilityResult {
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of history) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  let explored = 0;
  for (const key of [...byKey.keys()].sort()) {
    const ops = withoutUnseenUnknownWrites(byKey.get(key) ?? []);
    const r = checkRegister(ops, budgetSteps);
    explored += r.steps;
    if (r.verdict !== 'ok') {
      return { ok: false, key, reason: r.verdict === 'bad' ? 'not linearizable' : 'search budget exceeded', explored };
    }
  }
  return { ok: true, explored };
}

/**
 * Drops writes with unknown outcome whose value no read returned. Such a write may be taken to
 * have never happened (linearized after everything), so the history is linearizable with it iff
 * it is without it; dropping it up front spares the search a factor of two per write.
 * Values must be unique per write for this to hold (the simulator's are client.request).
 */
function withoutUnseenUnknownWrites(ops: readonly HistoryOp[]): HistoryOp[] {
  const seen = new Set<string>();
  for (const op of ops) if (op.input.kind === 'get' && op.output !== undefined) seen.add(op.output);
  return ops.filter((op) => !(op.input.kind === 'put' && op.ret === Number.POSITIVE_INFINITY && !seen.has(op.input.value)));
}

/** The sequential register: a put always succeeds; a get must return the current value. */
function registerStep(state: string, op: HistoryOp): string | undefined {
  if (op.input.kind === 'put') return op.input.value;
  return op.output === state ? state : undefined;
}

function checkRegister(ops: readonly HistoryOp[], budgetSteps: number): { verdict: 'ok' | 'bad' | 'budget'; steps: number } {
  for (const op of ops) assert(op.call < op.ret, 'operation returns before it is called');
  const head = buildList(ops);
  const linearized = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const seen = new Set<string>();
  const stack: { node: ListNode; state: string }[] = [];
  let state = '';
  let node = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > budgetSteps) return { verdict: 'budget', steps };
    assert(node !== undefined, 'walked off the event list');
    if (node.kind === 'call') {
      const op = ops[node.op] as HistoryOp;
      const next = registerStep(state, op);
      if (next !== undefined) {
        setBit(linearized, node.op, true);
        const key = `${linearized.join(',')}|${next}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ node, state });
          state = next;
          lift(node);
          node = head.next;
          continue;
        }
        setBit(linearized, node.op, false);
      }
      node = node.next;
      continue;
    }
    // A return whose call we could not place before it: undo the last choice.
    const top = stack.pop();
    if (top === undefined) return { verdict: 'bad', steps };
    state = top.state;
    setBit(linearized, top.node.op, false);
    unlift(top.node);
    node = top.node.next;
  }
  return { verdict: 'ok', steps };
}

/** Events sorted by time (returns at Infinity last), as a doubly linked list behind a head node. */
function buildList(ops: readonly HistoryOp[]): ListNode {
  const events: { time: number; node: ListNode }[] = [];
  ops.forEach((op, i) => {
    const call: ListNode = { kind: 'call', op: i, match: undefined, prev: undefined, next: undefined };
    const ret: ListNode = { kind: 'return', op: i, match: undefined, prev: undefined, next: undefined };
    call.match = ret;
    events.push({ time: op.call, node: call }, { time: op.ret, node: ret });
  });
  events.sort((a, b) => a.time - b.time || (a.node.kind === 'call' ? -1 : 1) - (b.node.kind === 'call' ? -1 : 1));
  const head: ListNode = { kind: 'head', op: -1, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const e of events) {
    e.node.prev = last;
    last.next = e.node;
    last = e.node;
  }
  return head;
}

/** Removes a call and its return from the list (they keep their links for unlift). */
function lift(call: ListNode): void {
  const ret = call.match;
  assert(ret !== undefined && call.prev !== undefined, 'lift of a detached call');
  call.prev.next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  assert(ret.prev !== undefined, 'return without predecessor');
  ret.prev.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

/** Puts a lifted call and its return back (exact inverse of lift, in LIFO order). */
function unlift(call: ListNode): void {
  const ret = call.match;
  assert(ret !== undefined && ret.prev !== undefined && call.prev !== undefined, 'unlift of an unlinked call');
  ret.prev.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev.next = call;
  if (call.next !== undefined) call.next.prev = call;
}

function setBit(bits: Uint32Array, i: number, on: boolean): void {
  const word = i >>> 5;
  const mask = 1 << (i & 31);
  const cur = bits[word] ?? 0;
  bits[word] = on ? cur | mask : cur & ~mask;
}
