/**
 * What the control socket serves besides the Engine: the Swarm service (init, join, leave, info of
 * this node) and the Control service, handed to the local manager (which forwards to the leader)
 * or refused with docker's words when this node is not a manager.
 */
import type { Server, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { toServiceError } from '../lib/rpc-errors.js';
import { ControlService, LogsService, SwarmService, type ControlServer, type LogsServer, type SwarmServer } from '../proto/index.js';
import type { Manager } from '../manager/manager.js';
import type { LocalNetworks } from './local-networks.js';
import type { SwarmNode } from './swarm-node.js';

/** Docker's message for a cluster command on a node outside any swarm. */
export const notInSwarmMessage = 'This node is not a swarm manager. Use "tsswarm swarm init" or "tsswarm swarm join" to connect this node to swarm and try again.';
/** Docker's message for a cluster command on a worker. */
export const workerNodeMessage =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";

/** What resolves image digests (the daemon's ImageService). */
export interface ImageDigests {
  resolveDigest(name: string): Promise<string>;
}

/** Defaults for `swarm init|join` given to tsswarmd itself. */
export interface SwarmDefaults {
  readonly listenAddr?: string;
  readonly advertiseAddr?: string;
}

/** The host's bridge networks; UNSUPPORTED when this daemon keeps none. */
function localNetworks(node: SwarmNode): LocalNetworks {
  const local = node.localNetworks;
  if (local === undefined) throw new TsswarmError(ErrorCode.UNSUPPORTED, 'this tsswarmd keeps no bridge networks');
  return local;
}

/** Adds the Swarm and Control services over `node` to the control-socket server. */
export function addSwarmServices(server: Server, node: SwarmNode, defaults: SwarmDefaults, images: ImageDigests, log: Logger): void {
  const answer = <T>(callback: sendUnaryData<T>, work: () => Promise<T> | T): void => {
    Promise.resolve()
      .then(work)
      .then(
        (value) => callback(null, value),
        (err: unknown) => {
          if (!isTsswarmError(err)) log.error({ err }, 'swarm request failed unexpectedly');
          callback(toServiceError(err));
        },
      );
  };
  const swarm: SwarmServer = {
    init: (call, callback) =>
      answer(callback, () =>
        // The daemon's own address flags are defaults for a new swarm; a recovery keeps the saved addresses.
        node.init(call.request.forceNewCluster ? call.request : { ...call.request, listenAddr: call.request.listenAddr || defaults.listenAddr || '', advertiseAddr: call.request.advertiseAddr || defaults.advertiseAddr || '' }),
      ),
    join: (call, callback) =>
      answer(callback, () =>
        node.join({ ...call.request, listenAddr: call.request.listenAddr || defaults.listenAddr || '', advertiseAddr: call.request.advertiseAddr || defaults.advertiseAddr || '' }),
      ),
    leave: (call, callback) => answer(callback, async () => (await node.leave(call.request.force), {})),
    info: (_call, callback) => answer(callback, () => node.info()),
    createLocalNetwork: (call, callback) => answer(callback, async () => ({ network: await localNetworks(node).create(call.request.spec) })),
    listLocalNetworks: (_call, callback) => answer(callback, () => ({ networks: node.localNetworks?.list() ?? [] })),
    removeLocalNetwork: (call, callback) => answer(callback, async () => (await localNetworks(node).remove(call.request.ref), {})),
    resolveImage: (call, callback) =>
      answer(callback, async () => {
        const image = call.request.image;
        try {
          return { image: await images.resolveDigest(image), warning: '' };
        } catch (err) {
          if (isTsswarmError(err, ErrorCode.INVALID_ARGUMENT)) throw err;
          return {
            image,
            warning: `image ${image} could not be accessed on a registry to record its digest (${errorMessage(err)}). Each node will access ${image} independently, possibly leading to different nodes running different versions of the image.`,
          };
        }
      }),
  };
  server.addService(SwarmService, swarm);

  // The manager changes with init, join, leave, promote and demote: look it up per call.
  const handlersOf = new WeakMap<Manager, ControlServer>();
  const control: Record<string, unknown> = {};
  for (const name of Object.keys(ControlService)) {
    control[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
      const manager = node.manager;
      if (manager === undefined) {
        const message = node.info().nodeId === '' ? notInSwarmMessage : workerNodeMessage;
        callback(toServiceError(new TsswarmError(ErrorCode.NOT_IN_SWARM, message)));
        return;
      }
      let handlers = handlersOf.get(manager);
      if (handlers === undefined) handlersOf.set(manager, (handlers = manager.controlService()));
      (handlers[name as keyof ControlServer] as (c: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void)(call, callback);
    };
  }
  server.addService(ControlService, control as unknown as ControlServer);

  const logsOf = new WeakMap<Manager, LogsServer>();
  const logs: LogsServer = {
    subscribeLogs: (call) => {
      const manager = node.manager;
      if (manager === undefined) {
        const message = node.info().nodeId === '' ? notInSwarmMessage : workerNodeMessage;
        call.emit('error', toServiceError(new TsswarmError(ErrorCode.NOT_IN_SWARM, message)));
        return;
      }
      let handlers = logsOf.get(manager);
      if (handlers === undefined) logsOf.set(manager, (handlers = manager.logsService()));
      handlers.subscribeLogs(call);
    },
  };
  server.addService(LogsService, logs);
}
