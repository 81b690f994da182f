/**
 * Serving the Engine service on the local control socket: root only (folder 0700, socket 0600).
 * A live socket means another tsswarmd is running and is refused; a stale one is replaced.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { EngineService } from '../../proto/index.js';
import type { Engine } from './engine.js';
import { engineHandlers } from './engine-server.js';

/** A running control-socket server. */
export interface SocketServer {
  readonly path: string;
  close(): Promise<void>;
}

function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Binds the Engine service (and whatever `addServices` adds: the swarm services) to `path`. */
export async function serveEngine(engine: Engine, path: string, addServices?: (server: Server) => void): Promise<SocketServer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (await stat(path).then(() => true, () => false)) {
    if (await socketIsLive(path)) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `another tsswarmd is already serving ${path}`);
    await rm(path, { force: true });
  }
  const server = new Server();
  server.addService(EngineService as never, engineHandlers(engine) as never);
  addServices?.(server);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${path}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(new TsswarmError(ErrorCode.EXTERNAL, `cannot listen on ${path}: ${err.message}`)) : resolve(),
    );
  });
  await chmod(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          void rm(path, { force: true }).finally(resolve);
        });
      }),
  };
}
