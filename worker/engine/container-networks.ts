/**
 * How a standalone container joins swarm networks (`container run --network`): the engine asks
 * this hook, which the daemon provides while the host is in a swarm (daemon/container-networks.ts),
 * for a network namespace with the container's endpoints before it creates the container, and
 * gives the attachment back when the container is removed.
 */
import type { NetworkAttachmentConfig, PortConfig } from '../../proto/index.js';

/** The container's place on one network, as `container inspect` shows it. */
export interface JoinedEndpoint {
  readonly networkId: string;
  readonly networkName: string;
  /** Without prefix. */
  readonly address: string;
  readonly prefixLength: number;
  readonly mac: string;
  readonly gateway: string;
  readonly aliases: readonly string[];
}

/** What joining gave the container. */
export interface JoinedNetworks {
  /** One per network joined. */
  readonly endpoints: readonly JoinedEndpoint[];
  /** The network namespace the container runs in. */
  readonly netnsPath: string;
  /** Name servers for its resolv.conf (the networks' DNS). */
  readonly dnsServers: readonly string[];
  /** The attachment to give back on removal. */
  readonly attachmentId: string;
}

/** The daemon's side of standalone containers on swarm networks. */
export interface ContainerNetworks {
  /**
   * Joins container `containerId` (DNS name `name`) to `networks`, publishing `ports` on this host
   * (bridge networks only); nothing is left joined on failure.
   */
  join(containerId: string, name: string, networks: readonly NetworkAttachmentConfig[], ports?: readonly PortConfig[]): Promise<JoinedNetworks>;
  /** The engine is done creating container `containerId` after a join (made or not). */
  settled?(containerId: string): void;
  /** Gives an attachment back (the container is gone). Idempotent. */
  leave(attachmentId: string): Promise<void>;
}
