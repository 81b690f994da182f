/**
 * The secret and config calls of the Control API (`tsswarm secret ...`, `tsswarm config ...`), as
 * plain async functions over the store, in the form of ServiceControlApi, which holds one and
 * shares its write queue with it (so a service create and a secret remove never interleave their
 * checks and writes). Reads come from the store's memory; secrets are returned without their data.
 * Secret data is sealed with the cluster's key (secrets-encryption.ts) before it is proposed.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type {
  Config,
  CreateConfigRequest,
  CreateConfigResponse,
  CreateSecretRequest,
  CreateSecretResponse,
  GetConfigRequest,
  GetConfigResponse,
  GetSecretRequest,
  GetSecretResponse,
  ListConfigsRequest,
  ListConfigsResponse,
  ListSecretsRequest,
  ListSecretsResponse,
  RemoveConfigRequest,
  RemoveConfigResponse,
  RemoveSecretRequest,
  RemoveSecretResponse,
  Secret,
  UpdateConfigRequest,
  UpdateConfigResponse,
  UpdateSecretRequest,
  UpdateSecretResponse,
} from '../../proto/index.js';
import type { Store, StoreEvent } from '../store/index.js';
import { findConfig, planConfigCreate, planConfigRemoval, planConfigUpdate } from './configs.js';
import { filterObjects } from './object-filters.js';
import { redactSecret, revealSecret, secretKeyOf } from './secrets-encryption.js';
import { findSecret, planSecretCreate, planSecretRemoval, planSecretUpdate } from './secrets.js';
import { checkVersion, requireVersion, writtenObject } from './store-access.js';

/** What a SecretControlApi shares with the ServiceControlApi that holds it. */
export interface SecretControlApiOptions {
  readonly store: Store;
  readonly newId: () => string;
  /** Throws NO_QUORUM while there is no leader. */
  readonly requireLeader: () => void;
  /** Runs a write after every earlier write of the Control API. */
  readonly serialized: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** The secret and config calls (see the file comment). */
export class SecretControlApi {
  constructor(private readonly options: SecretControlApiOptions) {}

  private get store(): Store {
    return this.options.store;
  }

  /** One secret by exact ID, without its data. NOT_FOUND "secret X not found". */
  getSecret(request: GetSecretRequest): Promise<GetSecretResponse> {
    return Promise.resolve().then(() => ({ secret: redactSecret(findSecret(this.store.memory, request.secretId)) }));
  }

  /** Every user secret passing `request.filters`, in ID order, without their data. */
  listSecrets(request: ListSecretsRequest): Promise<ListSecretsResponse> {
    return Promise.resolve().then(() => ({
      secrets: filterObjects(
        this.store.memory.list('secret').filter((s) => !s.internal),
        request.filters,
      ).map(redactSecret),
    }));
  }

  /**
   * Creates a secret, its data sealed before it is proposed. INVALID_ARGUMENT for a bad spec,
   * ALREADY_EXISTS for a name in use, CLOSED while this manager lacks the cluster's CA key,
   * NO_QUORUM without a leader. The response carries no data.
   */
  createSecret(request: CreateSecretRequest): Promise<CreateSecretResponse> {
    return this.options.serialized(async () => {
      this.options.requireLeader();
      const key = secretKeyOf(this.store.memory.list('cluster')[0]);
      const secret = planSecretCreate(this.store.memory, request.spec, this.options.newId, key);
      const events = await this.store.update((tx) => tx.create('secret', secret));
      return { secret: redactSecret(this.written(events, 'secret', secret.id)) };
    });
  }

  /** Changes a secret's labels (the data may be left out or sent unchanged). CONFLICT for a stale version. */
  updateSecret(request: UpdateSecretRequest): Promise<UpdateSecretResponse> {
    return this.options.serialized(async () => {
      this.options.requireLeader();
      const stored = findSecret(this.store.memory, request.secretId);
      checkVersion('secret', stored.id, stored.meta?.version, requireVersion(request.secretVersion, 'secret'));
      const secret = planSecretUpdate(stored, request.spec, () => revealSecret(stored, this.store.memory.list('cluster')[0]).spec?.data ?? new Uint8Array(0));
      const events = await this.store.update((tx) => tx.update('secret', secret));
      return { secret: redactSecret(this.written(events, 'secret', secret.id)) };
    });
  }

  /** Removes a secret. NOT_FOUND for an unknown one, CONFLICT while a service references it. */
  removeSecret(request: RemoveSecretRequest): Promise<RemoveSecretResponse> {
    return this.options.serialized(async () => {
      this.options.requireLeader();
      const secret = planSecretRemoval(this.store.memory, request.secretId);
      await this.store.update((tx) => tx.remove('secret', secret.id));
      return {};
    });
  }

  /** One config by exact ID, with its data. NOT_FOUND "config X not found". */
  getConfig(request: GetConfigRequest): Promise<GetConfigResponse> {
    return Promise.resolve().then(() => ({ config: findConfig(this.store.memory, request.configId) }));
  }

  /** Every config passing `request.filters`, in ID order. */
  listConfigs(request: ListConfigsRequest): Promise<ListConfigsResponse> {
    return Promise.resolve().then(() => ({ configs: filterObjects(this.store.memory.list('config'), request.filters) }));
  }

  /** Creates a config. INVALID_ARGUMENT for a bad spec, ALREADY_EXISTS for a name in use, NO_QUORUM without a leader. */
  createConfig(request: CreateConfigRequest): Promise<CreateConfigResponse> {
    return this.options.serialized(async () => {
      this.options.requireLeader();
      const config = planConfigCreate(this.store.memory, request.spec, this.options.newId);
      const events = await this.store.update((tx) => tx.create('config', config));
      return { config: this.written(events, 'config', config.id) };
    });
  }

  /** Changes a config's labels (nothing else may change). CONFLICT for a stale version. */
  updateConfig(request: UpdateConfigRequest): Promise<UpdateConfigResponse> {
    return this.options.serialized(async () => {
      this.options.requireLeader();
      const stored = findConfig(this.store.memory, request.configId);
      checkVersion('config', stored.id, stored.meta?.version, requireVersion(request.configVersion, 'config'));
      const config = planConfigUpdate(stored, request.spec);
      const events = await this.store.update((tx) => tx.update('config', config));
      return { config: this.written(events, 'config', config.id) };
    });
  }

  /** Removes a config. NOT_FOUND for an unknown one, CONFLICT while a service references it. */
  removeConfig(request: RemoveConfigRequest): Promise<RemoveConfigResponse> {
    return this.options.serialized(async () => {
      this.options.requireLeader();
      const config = planConfigRemoval(this.store.memory, request.configId);
      await this.store.update((tx) => tx.remove('config', config.id));
      return {};
    });
  }

  private written<K extends 'secret' | 'config'>(events: readonly StoreEvent[], kind: K, id: string): K extends 'secret' ? Secret : Config {
    const value = writtenObject(events, kind, id) ?? this.store.memory.get(kind, id);
    if (value === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `${kind} ${id} not found after it was written`);
    return value as K extends 'secret' ? Secret : Config;
  }
}
