/**
 * The worker's gRPC client of one manager's Dispatcher service: plain calls with deadlines, and
 * failures turned into TsswarmErrors (the manager's own code when it sent one, CLOSED when the
 * manager cannot be reached).
 */
import { Client, Metadata, status, type ChannelCredentials, type ClientReadableStream, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { errorCodeKey } from '../../lib/rpc-errors.js';
import {
  DispatcherService,
  type AssignmentsMessage,
  type AttachNetworkRequest,
  type GrpcMethod,
  type HeartbeatResponse,
  type LogSubscription,
  type PublishLogsMessage,
  type NetworkViewMessage,
  type NodeDescription,
  type SessionMessage,
  type TaskStatusUpdate,
} from '../../proto/index.js';

/** Time limit of each unary dispatcher call. */
export const dispatcherCallTimeoutMs = 10_000;
/** The largest message the agent accepts (a COMPLETE assignments message carries every task of the node). */
export const maxDispatcherMessageBytes = 64 * 1024 * 1024;

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** The TsswarmError for a failed dispatcher call to `address`. */
export function dispatcherCallError(err: ServiceError, address: string): TsswarmError {
  const code = err.metadata?.get(errorCodeKey)[0];
  if (typeof code === 'string' && knownCodes.has(code)) return new TsswarmError(code as ErrorCode, err.details, { cause: err });
  switch (err.code) {
    case status.UNAVAILABLE:
      return new TsswarmError(ErrorCode.CLOSED, `cannot reach manager at ${address}: ${err.details}`, { cause: err });
    case status.CANCELLED:
      return new TsswarmError(ErrorCode.CLOSED, `call to manager at ${address} cancelled`, { cause: err });
    case status.DEADLINE_EXCEEDED:
      return new TsswarmError(ErrorCode.TIMEOUT, `manager at ${address} did not answer in time`, { cause: err });
    case status.PERMISSION_DENIED:
      return new TsswarmError(ErrorCode.PERMISSION, err.details, { cause: err });
    case status.RESOURCE_EXHAUSTED:
      return new TsswarmError(ErrorCode.QUEUE_FULL, err.details, { cause: err });
    default:
      return new TsswarmError(ErrorCode.EXTERNAL, `manager at ${address}: ${err.details || err.message}`, { cause: err });
  }
}

/** One channel to one manager's dispatcher. */
export class DispatcherClient {
  private readonly client: Client;
  private readonly metadata: Metadata;

  constructor(
    readonly address: string,
    credentials: ChannelCredentials,
    /** Extra metadata on every call (tests identify nodes by it; production relies on the certificate). */
    callMetadata: Readonly<Record<string, string>> = {},
  ) {
    this.client = new Client(address, credentials, {
      'grpc.max_receive_message_length': maxDispatcherMessageBytes,
    });
    this.metadata = new Metadata();
    for (const [k, v] of Object.entries(callMetadata)) this.metadata.set(k, v);
  }

  /** Opens a session stream (a new session: the dispatcher hands out its ID in the first message). */
  session(description: NodeDescription): ClientReadableStream<SessionMessage> {
    const m = DispatcherService.session;
    return this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { description, sessionId: '' }, this.metadata.clone());
  }

  /** Opens the assignments stream of session `sessionId`. */
  assignments(sessionId: string): ClientReadableStream<AssignmentsMessage> {
    const m = DispatcherService.assignments;
    return this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { sessionId }, this.metadata.clone());
  }

  /** Opens the network view stream of session `sessionId` (netd's view of the cluster). */
  networkView(sessionId: string): ClientReadableStream<NetworkViewMessage> {
    const m = DispatcherService.networkView;
    return this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { sessionId }, this.metadata.clone());
  }

  /** Opens the log subscriptions stream of session `sessionId`. */
  logSubscriptions(sessionId: string): ClientReadableStream<LogSubscription> {
    const m = DispatcherService.logSubscriptions;
    return this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { sessionId }, this.metadata.clone());
  }

  /** Opens a stream publishing one subscription's lines; `done` gets its outcome. */
  publishLogs(done: (err: TsswarmError | undefined) => void): ClientWritableStream<PublishLogsMessage> {
    const m = DispatcherService.publishLogs;
    return this.client.makeClientStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, this.metadata.clone(), (err: ServiceError | null) =>
      done(err ? dispatcherCallError(err, this.address) : undefined),
    );
  }

  /** One heartbeat; resolves with the period before the next one is due. */
  heartbeat(sessionId: string): Promise<HeartbeatResponse> {
    return this.unary(DispatcherService.heartbeat, { sessionId });
  }

  /** Sends a batch of task status reports; resolves once the dispatcher wrote them. */
  async updateTaskStatus(sessionId: string, updates: TaskStatusUpdate[]): Promise<void> {
    await this.unary(DispatcherService.updateTaskStatus, { sessionId, updates });
  }

  /** Asks for a standalone container's attachment task (dispatcher AttachNetwork). */
  async attachNetwork(request: AttachNetworkRequest): Promise<string> {
    return (await this.unary(DispatcherService.attachNetwork, request)).attachmentId;
  }

  /** Removes a standalone container's attachment task. */
  async detachNetwork(sessionId: string, attachmentId: string): Promise<void> {
    await this.unary(DispatcherService.detachNetwork, { sessionId, attachmentId });
  }

  /** Closes the channel; calls still open end with CANCELLED. */
  close(): void {
    this.client.close();
  }

  private unary<Req, Res>(method: GrpcMethod<Req, Res>, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.metadata.clone(),
        { deadline: Date.now() + dispatcherCallTimeoutMs },
        (err: ServiceError | null, response?: Res) => {
          if (err) reject(dispatcherCallError(err, this.address));
          else if (response === undefined) reject(new TsswarmError(ErrorCode.CORRUPT, `${method.path} returned no response`));
          else resolve(response);
        },
      );
    });
  }
}
