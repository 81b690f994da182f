/**
 * The CLI's connection to the local tsswarmd: the Engine service over the control socket
 * (`-H unix://PATH`, else TSSWARM_HOST, else /run/tsswarm/tsswarmd.sock), with promise-returning
 * calls and errors turned back into TsswarmErrors.
 */
import { credentials, makeGenericClientConstructor, type Client, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { ErrorCode, TsswarmError } from '../lib/errors.js';
import { fromServiceError } from '../lib/rpc-errors.js';
import {
  EngineService,
  type ContainerCreateRequest,
  type ContainerInspectResponse,
  type ContainerListResponse,
  type ContainerLogsRequest,
  type ContainerStatsResponse,
  type ContainerStopRequest,
  type ContainerTopResponse,
  type ContainerWaitResponse,
  type DeepPartial,
  type ExecInput,
  type ExecOutput,
  type LogEntry,
  type Volume,
  type VolumeCreateRequest,
  type VolumeListResponse,
  type VolumePruneRequest,
  type VolumePruneResponse,
} from '../proto/index.js';


/** Where tsswarmd listens by default. */
export const defaultSocketPath = '/run/tsswarm/tsswarmd.sock';

/** The control-socket address to use: `unix:///path`. */
export function engineAddress(host: string | undefined): string {
  const given = host ?? process.env['TSSWARM_HOST'] ?? `unix://${defaultSocketPath}`;
  if (!given.startsWith('unix://')) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `unsupported host ${JSON.stringify(given)}: use unix:///path/to/tsswarmd.sock`);
  }
  return given;
}

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;
type UnaryFn<Req, Res> = (req: Req, cb: Callback<Res>) => void;

/** A typed client of the Engine service. */
export class EngineClient {
  private readonly client: Client & Record<string, unknown>;

  constructor(readonly address: string) {
    const path = address.slice('unix://'.length);
    if (!existsSync(path)) {
      throw new TsswarmError(ErrorCode.CLOSED, `cannot reach tsswarmd: no socket at ${path} (is tsswarmd running? start it with: tsswarmd)`);
    }
    const Ctor = makeGenericClientConstructor(EngineService as never, 'Engine');
    this.client = new Ctor(address, credentials.createInsecure()) as Client & Record<string, unknown>;
  }

  private unary<Req, Res>(method: string, req: Req): Promise<Res> {
    const fn = (this.client[method] as UnaryFn<Req, Res>).bind(this.client);
    return new Promise((resolve, reject) => {
      fn(req, (err, res) => (err ? reject(fromServiceError(err, this.address)) : resolve(res as Res)));
    });
  }

  create(req: DeepPartial<ContainerCreateRequest>): Promise<{ id: string; warnings: string[] }> {
    return this.unary('containerCreate', req);
  }
  start(id: string): Promise<unknown> {
    return this.unary('containerStart', { id });
  }
  stop(req: DeepPartial<ContainerStopRequest>): Promise<ContainerWaitResponse> {
    return this.unary('containerStop', req);
  }
  remove(id: string, force: boolean, removeVolumes = false): Promise<unknown> {
    return this.unary('containerRemove', { id, force, removeVolumes });

  }
  list(all: boolean): Promise<ContainerListResponse> {
    return this.unary('containerList', { all });
  }
  inspect(id: string): Promise<ContainerInspectResponse> {
    return this.unary('containerInspect', { id });
  }
  wait(id: string): Promise<ContainerWaitResponse> {
    return this.unary('containerWait', { id });
  }
  stats(id: string): Promise<ContainerStatsResponse> {
    return this.unary('containerStats', { id });
  }
  top(id: string): Promise<ContainerTopResponse> {
    return this.unary('containerTop', { id });
  }
  volumeCreate(req: DeepPartial<VolumeCreateRequest>): Promise<Volume> {
    return this.unary('volumeCreate', req);
  }
  volumeList(): Promise<VolumeListResponse> {
    return this.unary('volumeList', {});
  }
  volumeInspect(name: string): Promise<Volume> {
    return this.unary('volumeInspect', { name });
  }
  volumeRemove(name: string, force: boolean): Promise<unknown> {
    return this.unary('volumeRemove', { name, force });
  }
  volumePrune(req: DeepPartial<VolumePruneRequest>): Promise<VolumePruneResponse> {
    return this.unary('volumePrune', req);
  }

  /** Streams log entries to `onEntry`; resolves when the stream ends. */
  logs(req: DeepPartial<ContainerLogsRequest>, onEntry: (entry: LogEntry) => void): Promise<void> {
    const stream = (this.client['containerLogs'] as (r: unknown) => ClientReadableStream<LogEntry>).call(this.client, req);
    return new Promise((resolve, reject) => {
      stream.on('data', onEntry);
      stream.on('end', () => resolve());
      stream.on('error', (err: ServiceError) => reject(fromServiceError(err, this.address)));
    });
  }

  /** Opens an exec stream. */
  exec(): ClientDuplexStream<ExecInput, ExecOutput> {
    return (this.client['containerExec'] as () => ClientDuplexStream<ExecInput, ExecOutput>).call(this.client);
  }

  /** Turns a stream error into a TsswarmError. */
  streamError(err: ServiceError): TsswarmError {
    return fromServiceError(err, this.address);
  }

  close(): void {
    this.client.close();
  }
}
