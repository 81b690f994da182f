/**
 * What the task executor needs from the rest of the worker, as small interfaces: the host's
 * container engine, the image store (resolve and pull), and netd's per-task network hook. The real
 * Engine and ImageService satisfy the first two as they are.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { ContainerCreateRequest, Network, Task } from '../../proto/index.js';
import type { Engine } from '../engine/engine.js';
import { containerConfigFor, validateContainerName } from '../engine/container-spec.js';
import type { ImageRuntimeConfig } from '../images/image-config.js';

/** The engine calls the executor makes (worker/engine's Engine). */
export type TaskEngine = Pick<Engine, 'create' | 'start' | 'stop' | 'remove' | 'inspect' | 'list'> & {
  readonly runtime: Pick<Engine['runtime'], 'wait' | 'create'>;
  /** Health status changes of a container (engines without health checks leave it out). */
  readonly watchHealth?: Engine['watchHealth'];
};

/** The image store calls the executor makes (worker/images' ImageService). */
export interface TaskImages {
  /** The local image; NOT_FOUND when it is missing. */
  resolve(reference: string): Promise<{ readonly id: string }>;
  /** Pulls the image from its registry. */
  pull(reference: string): Promise<unknown>;
  runtimeConfig(reference: string): Promise<ImageRuntimeConfig>;
  layerDirs(reference: string): Promise<string[]>;
}

/**
 * netd's hook: the network attachments of a task. Without it, task containers get the engine's
 * default: a new network namespace of their own with only loopback (no route out, no published
 * ports), the host's /etc/resolv.conf and an /etc/hosts naming localhost and the hostname.
 */
export interface TaskNetworks {
  /**
   * Sets up the task's attachments (task.networks, with the network objects of the node's
   * assignment set) before its container is created; returns the path of the network namespace
   * the container joins (e.g. /run/netns/tss-<taskId>), or undefined for the engine's default.
   * A rejection rejects the task. Must be idempotent: it may be called again for the same task.
   */
  attach(task: Task, networks: ReadonlyMap<string, Network>): Promise<string | undefined>;
  /** Tears down what attach made, after the container has stopped. Idempotent. */
  detach(task: Task): Promise<void>;
}

/**
 * Creates a task's container: through Engine.create, or, when netd gave a network namespace
 * (which ContainerCreateRequest cannot carry yet), through the runtime with the same config rules
 * plus the namespace path.
 */
export async function createTaskContainer(
  engine: TaskEngine,
  images: TaskImages,
  request: ContainerCreateRequest,
  netnsPath: string | undefined,
  dnsServers: readonly string[] = [],
): Promise<string> {
  if (netnsPath === undefined) return engine.create(request);
  validateContainerName(request.name);
  if (!netnsPath.startsWith('/')) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `network namespace path ${JSON.stringify(netnsPath)} must be absolute`);
  const image = await images.resolve(request.image);
  const [runtime, layerDirs] = await Promise.all([images.runtimeConfig(request.image), images.layerDirs(request.image)]);
  const id = newId();
  const config = { ...containerConfigFor(request, runtime, id, request.name), netnsPath, ...(dnsServers.length > 0 ? { dnsServers } : {}) };
  await engine.runtime.create({ config, image: request.image, imageId: image.id, lowerDirs: layerDirs, autoRemove: false });
  return id;
}
