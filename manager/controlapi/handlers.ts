/**
 * The gRPC face of the node and cluster calls: grpc-js unary handlers over a ControlApi. A
 * TsswarmError travels as its status and code (lib/rpc-errors); anything else becomes INTERNAL with
 * its message only, never a stack, and is logged.
 */
import type { Logger } from '../../lib/log.js';
import { unaryHandlers } from './unary.js';
import type { ControlServer } from '../../proto/index.js';
import type { ControlApi } from './control-api.js';

/** The Control service methods this folder implements. */
export type NodeClusterControlServer = Pick<ControlServer, 'getNode' | 'listNodes' | 'updateNode' | 'removeNode' | 'getCluster' | 'updateCluster'>;

/**
 * Handlers for the node and cluster methods of the Control service; spread them with the other
 * methods' handlers into `server.addService(ControlService, {...})`.
 */
export function controlHandlers(api: ControlApi, log?: Logger): NodeClusterControlServer {
  const unary = unaryHandlers(log);
  return {
    getNode: unary('GetNode', (r) => api.getNode(r)),
    listNodes: unary('ListNodes', (r) => api.listNodes(r)),
    updateNode: unary('UpdateNode', (r) => api.updateNode(r)),
    removeNode: unary('RemoveNode', (r) => api.removeNode(r)),
    getCluster: unary('GetCluster', (r) => api.getCluster(r)),
    updateCluster: unary('UpdateCluster', (r) => api.updateCluster(r)),
  };
}
