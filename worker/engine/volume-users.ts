/**
 * Which containers use which volumes, read from the container records on disk, so a volume stays
 * while any container (running or not) names it, across daemon restarts.
 */
import { listContainerRecords } from '../executor/container-store.js';

/** A `usage` hook for VolumeStore: names of the containers that mount each volume, by volume name. */
export function containersUsingVolumes(dataDir: string): () => Promise<ReadonlyMap<string, readonly string[]>> {
  return async () => {
    const usage = new Map<string, string[]>();
    for (const r of await listContainerRecords({ dataDir, runDir: '' })) {
      for (const m of r.config.mounts) {
        if (m.type !== 'volume') continue;
        const users = usage.get(m.source) ?? [];
        if (!users.includes(r.config.name)) users.push(r.config.name);
        usage.set(m.source, users);
      }
    }
    return usage;
  };
}
