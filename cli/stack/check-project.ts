/**
 * Checks that need the whole (merged) project: every service has an image, and every network,
 * volume, secret and config a service names is declared at the top level. Errors name the place of
 * the reference.
 */
import { fail } from './compose-error.js';
import type { ComposeProject } from './compose-model.js';
import { child } from './read-values.js';

/** The name of the network services without `networks:` join (STACK_default). */
export const defaultNetworkKey = 'default';

/** Throws the first problem of `project`; `firstFile` is named when there is no service at all. */
export function checkProject(project: ComposeProject, firstFile: string): void {
  if (project.services.size === 0) fail({ file: firstFile, line: 1 }, 'services', 'no service is declared');
  for (const [name, s] of project.services) {
    const path = child('services', name);
    if (s.image === undefined) fail(s.pos, child(path, 'image'), 'a service needs an image (stacks do not build images)');
    for (const n of s.networks ?? []) {
      if (!project.networks.has(n.name) && n.name !== defaultNetworkKey) {
        fail(n.pos, child(child(path, 'networks'), n.name), `network ${JSON.stringify(n.name)} is not declared under the top-level networks key`);
      }
    }
    s.volumes?.forEach((v, i) => {
      if (v.type === 'volume' && v.source !== '' && !project.volumes.has(v.source)) {
        fail(v.pos, child(child(path, 'volumes'), i), `volume ${JSON.stringify(v.source)} is not declared under the top-level volumes key`);
      }
    });
    s.secrets?.forEach((r, i) => {
      if (!project.secrets.has(r.source)) fail(r.pos, child(child(path, 'secrets'), i), `secret ${JSON.stringify(r.source)} is not declared under the top-level secrets key`);
    });
    s.configs?.forEach((r, i) => {
      if (!project.configs.has(r.source)) fail(r.pos, child(child(path, 'configs'), i), `config ${JSON.stringify(r.source)} is not declared under the top-level configs key`);
    });
    const published = new Map<string, number>();
    for (const p of s.ports ?? []) {
      if (p.published === 0) continue;
      const key = `${p.published}/${p.protocol}`;
      if (published.has(key)) fail(p.pos, child(path, 'ports'), `port ${p.published}/${p.protocol} is published more than once`);
      published.set(key, p.target);
    }
    if (s.deploy?.endpointMode === 'dnsrr' && (s.ports ?? []).some((p) => p.mode === 'ingress')) {
      fail(s.pos, child(path, 'deploy.endpoint_mode'), 'dnsrr cannot be used with ports published in ingress mode: publish them with mode: host');
    }
  }
}
