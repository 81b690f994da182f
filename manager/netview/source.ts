/**
 * What a network view is computed from: the four store tables it reads, as plain lists, so the
 * computation stays pure and a test can hand it any state.
 */
import type { Network, Node, Service, Task } from '../../proto/index.js';
import type { MemoryStore } from '../store/index.js';

/** The store tables a network view reads. */
export interface NetworkViewSource {
  readonly nodes: readonly Node[];
  readonly tasks: readonly Task[];
  readonly services: readonly Service[];
  readonly networks: readonly Network[];
}

/** The current state of `memory` as a NetworkViewSource. */
export function sourceFromStore(memory: MemoryStore): NetworkViewSource {
  return { nodes: memory.list('node'), tasks: memory.list('task'), services: memory.list('service'), networks: memory.list('network') };
}
