/**
 * A service's endpoint as docker checks it: the endpoint mode, each port (target 1-65535,
 * published 0-65535 where 0 lets the manager pick, a known protocol and publish mode), no published
 * port given twice for one protocol, no routing-mesh ports with DNS round robin. Then, against the
 * other services, SwarmKit's port conflict rule: a port published through the routing mesh (ingress)
 * is taken on every node, so no other service may publish it, in either mode; host-mode ports may be
 * shared (the scheduler keeps them apart) but not with an ingress port.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { EndpointMode, PortProtocol, PublishMode, type EndpointSpec, type PortConfig, type Service, type ServiceSpec } from '../../proto/index.js';
import { enumProblem } from './spec-checks.js';

/** Highest port number. */
export const maxPort = 65_535;
/** Most ports one service may publish or expose. */
export const maxEndpointPorts = 1024;

/** How a port is written in messages: "8080/tcp". */
export function portLabel(port: Pick<PortConfig, 'publishedPort' | 'protocol'>): string {
  const protocol = Object.entries(PortProtocol).find(([, v]) => v === port.protocol)?.[0].toLowerCase() ?? String(port.protocol);
  return `${port.publishedPort}/${protocol}`;
}

/** Every problem of an endpoint spec (empty when it is valid or absent). */
export function endpointSpecProblems(endpoint: EndpointSpec | undefined): string[] {
  if (endpoint === undefined) return [];
  const problems: string[] = [];
  const push = (p: string | undefined): void => {
    if (p !== undefined) problems.push(p);
  };
  push(enumProblem('endpoint.mode (--endpoint-mode)', endpoint.mode, EndpointMode));
  if (endpoint.ports.length > maxEndpointPorts) problems.push(`endpoint.ports lists ${endpoint.ports.length} ports; at most ${maxEndpointPorts} are allowed`);
  const published = new Set<string>();
  let dnsrrIngress = false;
  endpoint.ports.forEach((port, i) => {
    const field = `endpoint.ports[${i}]`;
    if (!Number.isInteger(port.targetPort) || port.targetPort < 1 || port.targetPort > maxPort) {
      problems.push(`${field}.target_port (--publish) must be 1 to ${maxPort}, not ${port.targetPort}`);
    }
    if (!Number.isInteger(port.publishedPort) || port.publishedPort < 0 || port.publishedPort > maxPort) {
      problems.push(`${field}.published_port (--publish) must be 0 (any free port) to ${maxPort}, not ${port.publishedPort}`);
    }
    const protocolProblem = enumProblem(`${field}.protocol`, port.protocol, PortProtocol);
    push(protocolProblem);
    push(enumProblem(`${field}.publish_mode`, port.publishMode, PublishMode));
    if (endpoint.mode === EndpointMode.DNSRR && port.publishMode === PublishMode.INGRESS) dnsrrIngress = true;
    if (port.publishMode === PublishMode.HOST && port.localOnly === true) {
      problems.push(`${field}.local_only applies to ports of the routing mesh (mode=ingress), not to mode=host`);
    }
    if (port.publishMode === PublishMode.HOST && port.publishedPort === 0) {
      problems.push(`${field}: a port published in host mode needs its published port (--publish mode=host,published=PORT,target=${port.targetPort})`);
    }
    if (port.publishedPort === 0 || protocolProblem !== undefined) return;
    const key = portLabel(port);
    if (published.has(key)) problems.push(`endpoint.ports: published port ${key} is given more than once`);
    published.add(key);
  });
  if (dnsrrIngress) {
    problems.push('endpoint: ports published in ingress mode (the routing mesh) can\'t be used with --endpoint-mode dnsrr; publish them with mode=host');
  }
  return problems;
}

/** True when the spec publishes a port through the routing mesh, so the service needs the ingress network. */
export function needsIngress(spec: ServiceSpec | undefined): boolean {
  return (spec?.endpoint?.ports ?? []).some((p) => p.publishMode === PublishMode.INGRESS);
}

/**
 * CONFLICT naming the other service when `spec` publishes a port another service of `services`
 * already publishes in a conflicting way (see the file comment); `selfId` is the service being
 * updated (its own ports never conflict), empty on create. Both the ports other services ask for
 * and the ports the allocator gave them count.
 */
export function portConflict(spec: ServiceSpec, services: readonly Service[], selfId: string): TsswarmError | undefined {
  const ingress = new Set<string>();
  const host = new Set<string>();
  for (const p of spec.endpoint?.ports ?? []) {
    if (p.publishedPort === 0) continue;
    (p.publishMode === PublishMode.HOST ? host : ingress).add(portLabel(p));
  }
  if (ingress.size === 0 && host.size === 0) return undefined;
  for (const other of services) {
    if (selfId !== '' && other.id === selfId) continue;
    const theirs = [...(other.spec?.endpoint?.ports ?? []), ...(other.endpoint?.ports ?? [])];
    for (const p of theirs) {
      if (p.publishedPort === 0) continue;
      const key = portLabel(p);
      const clash = p.publishMode === PublishMode.HOST ? ingress.has(key) : ingress.has(key) || host.has(key);
      if (!clash) continue;
      const name = other.spec?.annotations?.name ?? '';
      const how = p.publishMode === PublishMode.HOST ? 'a host-published port' : 'an ingress port';
      return new TsswarmError(ErrorCode.CONFLICT, `port ${key} is already in use by service ${name} (${other.id}) as ${how}`);
    }
  }
  return undefined;
}
