/** One host's container engine and its control-socket service. */
export { Engine, type ImageResolver, type ResolvedImage } from './engine.js';
export { serveEngine, type SocketServer } from './socket-server.js';
export { storeImageResolver } from './image-resolver.js';
