/**
 * The gRPC face of the service, task and network calls: grpc-js unary handlers over a
 * ServiceControlApi, in the same form as controlHandlers. A TsswarmError travels as its status and
 * code (lib/rpc-errors); anything else becomes INTERNAL with its message only, never a stack, and is
 * logged.
 */
import type { Logger } from '../../lib/log.js';
import { unaryHandlers } from './unary.js';
import type { ControlServer } from '../../proto/index.js';
import type { ServiceControlApi } from './service-control-api.js';

/** The Control service methods ServiceControlApi implements. */
export type ServiceTaskNetworkControlServer = Pick<
  ControlServer,
  | 'getService'
  | 'listServices'
  | 'createService'
  | 'updateService'
  | 'removeService'
  | 'getTask'
  | 'listTasks'
  | 'removeTask'
  | 'getNetwork'
  | 'listNetworks'
  | 'createNetwork'
  | 'removeNetwork'
  | 'getSecret'
  | 'listSecrets'
  | 'createSecret'
  | 'updateSecret'
  | 'removeSecret'
  | 'getConfig'
  | 'listConfigs'
  | 'createConfig'
  | 'updateConfig'
  | 'removeConfig'
>;

/**
 * Handlers for the service, task and network methods of the Control service; spread them with
 * `controlHandlers(...)` into `server.addService(ControlService, {...})`.
 */
export function serviceControlHandlers(api: ServiceControlApi, log?: Logger): ServiceTaskNetworkControlServer {
  const unary = unaryHandlers(log);
  return {
    getService: unary('GetService', (r) => api.getService(r)),
    listServices: unary('ListServices', (r) => api.listServices(r)),
    createService: unary('CreateService', (r) => api.createService(r)),
    updateService: unary('UpdateService', (r) => api.updateService(r)),
    removeService: unary('RemoveService', (r) => api.removeService(r)),
    getTask: unary('GetTask', (r) => api.getTask(r)),
    listTasks: unary('ListTasks', (r) => api.listTasks(r)),
    removeTask: unary('RemoveTask', (r) => api.removeTask(r)),
    getNetwork: unary('GetNetwork', (r) => api.getNetwork(r)),
    listNetworks: unary('ListNetworks', (r) => api.listNetworks(r)),
    createNetwork: unary('CreateNetwork', (r) => api.createNetwork(r)),
    removeNetwork: unary('RemoveNetwork', (r) => api.removeNetwork(r)),
    getSecret: unary('GetSecret', (r) => api.secrets.getSecret(r)),
    listSecrets: unary('ListSecrets', (r) => api.secrets.listSecrets(r)),
    createSecret: unary('CreateSecret', (r) => api.secrets.createSecret(r)),
    updateSecret: unary('UpdateSecret', (r) => api.secrets.updateSecret(r)),
    removeSecret: unary('RemoveSecret', (r) => api.secrets.removeSecret(r)),
    getConfig: unary('GetConfig', (r) => api.secrets.getConfig(r)),
    listConfigs: unary('ListConfigs', (r) => api.secrets.listConfigs(r)),
    createConfig: unary('CreateConfig', (r) => api.secrets.createConfig(r)),
    updateConfig: unary('UpdateConfig', (r) => api.secrets.updateConfig(r)),
    removeConfig: unary('RemoveConfig', (r) => api.secrets.removeConfig(r)),
  };
}
