/**
 * What a node remembers about its swarm across restarts: cluster and node IDs, its role, its
 * addresses, its raft ID (managers) and the managers it knows (workers), in DATA/swarm/state.json;
 * its certificate and key beside it in DATA/swarm/certificates. Written atomically.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError, errorMessage } from '../lib/errors.js';

/** The role a node runs as. */
export type LocalRole = 'manager' | 'worker';

/** The persisted swarm state of this node. */
export interface NodeState {
  readonly clusterId: string;
  readonly nodeId: string;
  readonly role: LocalRole;
  /** host:port the manager server binds (managers). */
  readonly listenAddr: string;
  /** host:port other nodes reach this one at. */
  readonly advertiseAddr: string;
  /** The raft ID of this manager (0 on workers). */
  readonly raftId: number;
  /** Manager addresses this node may reach (host:port), freshest first. */
  readonly managers: readonly string[];
}

const stateVersion = 1;

/** The folder of the swarm state in a data dir. */
export function swarmDir(dataDir: string): string {
  return join(dataDir, 'swarm');
}

/** The folder of the node certificate. */
export function certificatesDir(dataDir: string): string {
  return join(swarmDir(dataDir), 'certificates');
}

/** The raft folder of a manager. */
export function raftDir(dataDir: string): string {
  return join(swarmDir(dataDir), 'raft');
}

/** The saved state, or undefined when this node is in no swarm. CORRUPT when unreadable. */
export async function loadNodeState(dataDir: string): Promise<NodeState | undefined> {
  const path = join(swarmDir(dataDir), 'state.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as NodeState & { version: number };
    if (parsed.version !== stateVersion) throw new Error(`unknown version ${parsed.version}`);
    if (typeof parsed.clusterId !== 'string' || typeof parsed.nodeId !== 'string' || (parsed.role !== 'manager' && parsed.role !== 'worker')) throw new Error('missing fields');
    return { clusterId: parsed.clusterId, nodeId: parsed.nodeId, role: parsed.role, listenAddr: parsed.listenAddr, advertiseAddr: parsed.advertiseAddr, raftId: parsed.raftId, managers: parsed.managers };
  } catch (err) {
    throw new TsswarmError(ErrorCode.CORRUPT, `${path} is damaged (${errorMessage(err)}); leave the swarm with \`tsswarm swarm leave --force\` and join again`);
  }
}

/** Saves the state (write to a temporary file, then rename). */
export async function saveNodeState(dataDir: string, state: NodeState): Promise<void> {
  const dir = swarmDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, 'state.json.tmp');
  await writeFile(tmp, JSON.stringify({ version: stateVersion, ...state }, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, join(dir, 'state.json'));
}

/** Forgets the swarm: state, certificates and raft data. */
export async function removeNodeState(dataDir: string): Promise<void> {
  await rm(swarmDir(dataDir), { recursive: true, force: true });
}
