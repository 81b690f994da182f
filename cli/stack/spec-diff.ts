/**
 * Whether a redeploy changes a service: the spec the file asks for is compared with the one the
 * service has, after carrying over what the cluster or an earlier deploy filled in (the image's
 * pinned digest when the file names the same image without one, the force-update counter). The
 * comparison is on canonical protobuf bytes, so defaults and map order do not count. Pure.
 */
import { ServiceSpec } from '../../proto/index.js';

/** `image` without an `@sha256:...` digest. */
export function withoutDigest(image: string): string {
  const at = image.indexOf('@');
  return at < 0 ? image : image.slice(0, at);
}

/** The spec to send for `desired` given the service's `current` spec, and whether it differs. */
export function nextSpec(current: ServiceSpec | undefined, desired: ServiceSpec): { spec: ServiceSpec; changed: boolean } {
  const task = desired.task;
  const container = task?.container;
  const currentImage = current?.task?.container?.image ?? '';
  const keepPin = container !== undefined && !container.image.includes('@') && withoutDigest(currentImage) === container.image;
  const spec: ServiceSpec = {
    ...desired,
    ...(task !== undefined
      ? {
          task: {
            ...task,
            forceUpdate: current?.task?.forceUpdate ?? 0,
            ...(container !== undefined ? { container: { ...container, image: keepPin ? currentImage : container.image } } : {}),
          },
        }
      : {}),
  };
  return { spec, changed: current === undefined || !sameSpec(current, spec) };
}

/** True when the two specs encode to the same canonical bytes. */
export function sameSpec(a: ServiceSpec, b: ServiceSpec): boolean {
  const x = ServiceSpec.encode(ServiceSpec.create(a));
  const y = ServiceSpec.encode(ServiceSpec.create(b));
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
