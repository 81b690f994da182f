/** The container executor: OCI bundles run by runc under conmon, with docker's security defaults. */
export { Runtime, type ContainerInfo, type ContainerStatus, type RuntimeOptions, type CreateRequest } from './runtime.js';
export { type ContainerConfig, type MountSpec, type ResourceLimits, validateContainerConfig } from './container-config.js';
export { type ContainerRecord } from './container-store.js';
export { type ExitStatus } from './exit-status.js';
export { parseK8sLog, filterLog, formatLogLine, type LogLine, type LogFilter } from './k8s-log.js';
export { buildOciSpec, type OciSpec } from './oci-spec.js';
export { type VolumeMounter, type PreparedVolumes } from './volume-mounter.js';

