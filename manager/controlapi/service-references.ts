/**
 * The objects a ServiceSpec refers to, checked against the store: the networks its tasks attach to
 * (by ID, name or unique ID prefix; stored by ID, as docker's daemon resolves them), which must not
 * be the ingress network (the routing mesh attaches it by itself) nor listed twice; and the secrets
 * and configs it mounts, which must exist under the ID and name given. Whether a service that
 * publishes through the routing mesh has an ingress network to use is checked here too.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { Network, ServiceSpec } from '../../proto/index.js';
import { needsIngress } from './endpoint-spec.js';
import { resolveNetwork } from './resolve-named.js';
import type { StoreView } from './store-access.js';

/** The ingress network among `networks`, if there is one. */
export function ingressNetworkOf(networks: readonly Network[]): Network | undefined {
  return networks.find((n) => n.spec?.ingress === true);
}

/**
 * `spec` with every network attachment's target replaced by the network's ID. NOT_FOUND for an
 * unknown network, INVALID_ARGUMENT for an ambiguous one, the ingress network, a network listed
 * twice or a missing secret or config, CONFLICT when the spec publishes through the routing mesh and
 * there is no ingress network.
 */
export function resolveServiceReferences(spec: ServiceSpec, view: StoreView): ServiceSpec {
  const networks = view.list('network');
  const resolved = structuredClone(spec);
  const seen = new Map<string, string>();
  for (const attachment of resolved.task?.networks ?? []) {
    const network = resolveNetwork(networks, attachment.target);
    const name = network.spec?.annotations?.name ?? network.id;
    if (network.spec?.ingress === true) {
      throw new TsswarmError(
        ErrorCode.INVALID_ARGUMENT,
        `service cannot be explicitly attached to the ingress network ${JSON.stringify(name)}: publish ports (--publish) to use the routing mesh`,
      );
    }
    if (network.pendingDelete) throw new TsswarmError(ErrorCode.CONFLICT, `network ${name} is being removed`);
    const earlier = seen.get(network.id);
    if (earlier !== undefined) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `network ${name} is attached more than once (as ${JSON.stringify(earlier)} and ${JSON.stringify(attachment.target)})`);
    }
    seen.set(network.id, attachment.target);
    attachment.target = network.id;
  }
  const container = spec.task?.container;
  const missingSecrets = (container?.secrets ?? []).filter((r) => view.get('secret', r.secretId)?.spec?.annotations?.name !== r.secretName).map((r) => r.secretName || r.secretId);
  if (missingSecrets.length > 0) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${missingSecrets.length === 1 ? 'secret' : 'secrets'} not found: ${missingSecrets.join(', ')}`);
  }
  const missingConfigs = (container?.configs ?? []).filter((r) => view.get('config', r.configId)?.spec?.annotations?.name !== r.configName).map((r) => r.configName || r.configId);
  if (missingConfigs.length > 0) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${missingConfigs.length === 1 ? 'config' : 'configs'} not found: ${missingConfigs.join(', ')}`);
  }
  if (needsIngress(spec) && ingressNetworkOf(networks) === undefined) {
    throw new TsswarmError(ErrorCode.CONFLICT, 'service needs ingress network, but no ingress network is present: create one with `network create --ingress --driver overlay NAME`');
  }
  return resolved;
}
