/**
 * The Engine gRPC service (proto/engine.proto) over an Engine: decoding requests, calling the
 * engine, encoding answers, and turning errors into gRPC statuses that clients turn back.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, ServerDuplexStream } from '@grpc/grpc-js';
import { constants } from 'node:os';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { toServiceError } from '../../lib/rpc-errors.js';
import { millisOf, timestampFromMs } from '../../proto/time.js';
import {
  ContainerRunState,
  LogStream,
  type ContainerLogsRequest,
  type ContainerSummary,
  type LogEntry,
  type EngineServer,
  type ExecInput,
  type ExecOutput,
  type Timestamp,
  type Volume,
} from '../../proto/index.js';

import type { JoinedEndpoint } from './container-networks.js';
import type { Engine, EngineContainerInfo } from './engine.js';
import type { VolumeInfo } from '../volumes/volume-store.js';
import type { MountSpec } from '../executor/container-config.js';


/** A Timestamp from an ISO date (undefined for none). */
export function timestampOf(iso: string | undefined): Timestamp | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? timestampFromMs(ms) : undefined;
}

/** The `ls` row of a container. */
export function summaryOf(info: EngineContainerInfo): ContainerSummary {
  const state = info.status === 'running' ? ContainerRunState.RUNNING : info.status === 'created' ? ContainerRunState.CREATED : ContainerRunState.EXITED;
  const created = timestampOf(info.record.createdAt);
  const started = timestampOf(info.record.startedAt);
  const finished = timestampOf(info.exit?.finishedAt);
  return {
    id: info.record.config.id,
    name: info.record.config.name,
    image: info.record.image,
    command: info.record.config.args.join(' '),
    state,
    exitCode: info.exit?.exitCode ?? 0,
    oomKilled: info.exit?.oomKilled ?? false,
    pid: info.pid ?? 0,
    health: info.health?.status ?? '',
    ...(created ? { createdAt: created } : {}),
    ...(started ? { startedAt: started } : {}),
    ...(finished ? { finishedAt: finished } : {}),
  };
}

/** docker's State.Health: Status, FailingStreak and the last probe results. */
function healthDocument(info: EngineContainerInfo): Record<string, unknown> {
  if (info.health === undefined) return {};
  const h = info.health;
  return {
    Health: {
      Status: h.status,
      FailingStreak: h.failingStreak,
      Log: h.log.map((r) => ({ Start: r.start, End: r.end, ExitCode: r.exitCode, Output: r.output })),
    },
  };
}

/** docker's Config.Healthcheck (durations in nanoseconds, as docker's JSON). */
function healthcheckDocument(info: EngineContainerInfo): Record<string, unknown> {
  const h = info.record.config.healthcheck;
  if (h === undefined) return {};
  return {
    Healthcheck: {
      Test: h.test,
      Interval: h.intervalMs * 1e6,
      Timeout: h.timeoutMs * 1e6,
      StartPeriod: h.startPeriodMs * 1e6,
      StartInterval: h.startIntervalMs * 1e6,
      Retries: h.retries,
    },
  };
}

/** docker's top-level Mounts of a container; `volumePath` gives a volume's data folder. */
export function mountsDocument(mounts: readonly MountSpec[], volumePath: (name: string) => string): Record<string, unknown>[] {
  return mounts.map((m) => ({
    Type: m.type,
    ...(m.type === 'volume' ? { Name: m.source, Source: volumePath(m.source), Driver: m.volumeDriver || 'local' } : { Source: m.source }),
    Destination: m.target,
    Mode: '',
    RW: !m.readOnly,
    Propagation: m.type === 'bind' ? 'rprivate' : '',
  }));
}

/** The docker-shaped `inspect` document. */
export function inspectDocument(info: EngineContainerInfo, volumePath: (name: string) => string = (name) => name): Record<string, unknown> {
  const c = info.record.config;
  return {
    Id: c.id,
    Name: `/${c.name}`,
    Created: info.record.createdAt,
    Path: c.args[0] ?? '',
    Args: c.args.slice(1),
    State: {
      Status: info.status,
      Running: info.status === 'running',
      Pid: info.pid ?? 0,
      ExitCode: info.exit?.exitCode ?? 0,
      OOMKilled: info.exit?.oomKilled ?? false,
      StartedAt: info.record.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: info.exit?.finishedAt ?? '0001-01-01T00:00:00Z',
      ...healthDocument(info),
    },
    Image: info.record.imageId,
    Config: {
      Hostname: c.hostname,
      User: c.user,
      Env: c.env,
      Cmd: c.args,
      Image: info.record.image,
      WorkingDir: c.workingDir,
      Labels: c.labels,
      StopSignal: c.stopSignal,
      ...healthcheckDocument(info),
    },
    HostConfig: {
      AutoRemove: info.record.autoRemove,
      Memory: c.resources.memoryBytes ?? 0,
      NanoCpus: c.resources.nanoCpus ?? 0,
      CpuShares: c.resources.cpuShares ?? 0,
      PidsLimit: c.resources.pidsLimit ?? 0,
      ReadonlyRootfs: c.readOnlyRootfs,
      Mounts: c.mounts,
      CgroupParent: info.record.cgroupsPath,
    },
    Mounts: mountsDocument(c.mounts, volumePath),
    NetworkSettings: networkSettingsDocument(c.networkEndpoints ?? []),
  };
}

/** docker's NetworkSettings: the networks a standalone container joined (`run --network`), by name. */
export function networkSettingsDocument(endpoints: readonly JoinedEndpoint[]): Record<string, unknown> {
  const networks: Record<string, unknown> = {};
  for (const e of endpoints) {
    networks[e.networkName] = {
      NetworkID: e.networkId,
      IPAddress: e.address,
      IPPrefixLen: e.prefixLength,
      Gateway: e.gateway,
      Aliases: [...e.aliases],
      MacAddress: e.mac,
    };
  }
  return { Networks: networks };
}

function unary<Req, Res>(fn: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    fn(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

/** A volume as the Engine service sends it. */
export function volumeOf(v: VolumeInfo): Volume {
  return {
    name: v.name,
    driver: v.driver,
    mountpoint: v.mountpoint,
    createdAt: v.createdAt,
    labels: { ...v.labels },
    options: { ...v.options },
    scope: 'local',
    usedBy: [...v.usedBy],
    anonymous: v.anonymous,
  };
}

/** The handlers of the Engine service. */
export function engineHandlers(engine: Engine): EngineServer {
  return {
    containerCreate: unary(async (req) => ({ id: await engine.create(req), warnings: [] })),
    containerStart: unary(async (req) => {
      await engine.start(req.id);
      return {};
    }),
    containerStop: unary(async (req) => {
      const exit = await engine.stop(req.id, req.timeoutSet ? millisOf(req.timeout) : undefined);
      return { exitCode: exit?.exitCode ?? 0, oomKilled: exit?.oomKilled ?? false };
    }),
    containerRemove: unary(async (req) => {
      await engine.remove(req.id, req.force, req.removeVolumes);

      return {};
    }),
    containerList: unary(async (req) => ({ containers: (await engine.list(req.all)).map(summaryOf) })),
    containerInspect: unary(async (req) => {
      const info = await engine.inspect(req.id);
      return { summary: summaryOf(info), json: JSON.stringify(inspectDocument(info, (name) => engine.volumes.dataPath(name)), null, 2) };
    }),
    containerWait: unary(async (req) => {
      const exit = await engine.wait(req.id);
      return { exitCode: exit.exitCode, oomKilled: exit.oomKilled };
    }),
    containerStats: unary(async (req) => engine.stats(req.id)),
    containerTop: unary(async (req) => ({ processes: await engine.top(req.id) })),
    containerLogs: (call: ServerWritableStream<ContainerLogsRequest, LogEntry>) => {
      const req = call.request;
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      engine
        .logs(
          req.id,
          {
            follow: req.follow,
            ...(req.sinceSet ? { sinceMs: millisOf(req.since) } : {}),
            ...(req.tailSet ? { tail: req.tail } : {}),
            cancelled: () => cancelled,
          },
          (line) => {
            if (!cancelled) call.write({ stream: line.stream === 'stdout' ? LogStream.STDOUT : LogStream.STDERR, time: line.time, text: line.text });
          },
        )
        .then(
          () => call.end(),
          (err: unknown) => call.emit('error', toServiceError(err)),
        );
    },
    containerExec: (call: ServerDuplexStream<ExecInput, ExecOutput>) => {
      void handleExec(engine, call);
    },
    volumeCreate: unary(async (req) => volumeOf((await engine.volumes.create({ name: req.name, driver: req.driver, options: req.driverOptions, labels: req.labels })).info)),
    volumeList: unary(async () => ({ volumes: (await engine.volumes.list()).map(volumeOf) })),
    volumeInspect: unary(async (req) => volumeOf(await engine.volumes.inspect(req.name))),
    volumeRemove: unary(async (req) => {
      await engine.volumes.remove(req.name, req.force);
      return {};
    }),
    volumePrune: unary(async (req) => engine.volumes.prune({ all: req.all, labels: req.labelFilters })),

  };
}

async function handleExec(engine: Engine, call: ServerDuplexStream<ExecInput, ExecOutput>): Promise<void> {
  // Frames can arrive before the process exists: queue them until it does.
  const early: ExecInput[] = [];
  let deliver: (frame: ExecInput) => void = (frame) => early.push(frame);
  let ended = false;
  let onEnd: () => void = () => (ended = true);
  call.on('data', (frame: ExecInput) => deliver(frame));
  call.on('end', () => onEnd());
  const first = await new Promise<ExecInput | undefined>((resolve) => {
    if (early.length > 0) resolve(early.shift());
    deliver = (frame) => {
      deliver = (f) => early.push(f);
      resolve(frame);
    };
    onEnd = () => {
      ended = true;
      resolve(undefined);
    };
  });
  const start = first?.start;
  if (!start) {
    call.emit('error', toServiceError(new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'exec stream must begin with a start frame')));
    return;
  }
  try {
    const id = await engine.runtime.resolve(start.id);
    const child = await engine.runtime.spawnExec(id, start.cmd, {
      env: start.env,
      ...(start.workingDir ? { cwd: start.workingDir } : {}),
    });
    const input = (frame: ExecInput): void => {
      if (frame.stdin && start.interactive) child.stdin.write(frame.stdin);
      if (frame.stdinClose) child.stdin.end();
    };
    if (!start.interactive) child.stdin.end();
    for (const frame of early.splice(0)) input(frame);
    deliver = input;
    onEnd = () => child.stdin.end();
    if (ended) child.stdin.end();
    call.on('cancelled', () => child.kill('SIGKILL'));
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (d: Buffer) => call.write({ stdout: new Uint8Array(d) }));
    child.stderr.on('data', (d: Buffer) => call.write({ stderr: new Uint8Array(d) }));
    child.on('close', (code, signal) => {
      call.write({ exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0) });
      call.end();
    });
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}
