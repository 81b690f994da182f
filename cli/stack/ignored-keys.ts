/**
 * Service keys swarm does not use (a stack cannot build images, order start-up, name containers,
 * ...): the loader accepts them and the CLI lists them in one warning line on stderr, as docker
 * does, instead of failing.
 */

/** Keys of a service that are accepted and ignored. */
export const ignoredServiceKeys: readonly string[] = [
  'build', 'cgroup_parent', 'cgroupns_mode', 'container_name', 'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota',
  'cpu_rt_period', 'cpu_rt_runtime', 'cpu_shares', 'cpus', 'cpuset', 'credential_spec', 'depends_on', 'device_cgroup_rules',
  'devices', 'dns', 'dns_opt', 'dns_search', 'domainname', 'expose', 'extends', 'external_links', 'extra_hosts', 'ipc',
  'isolation', 'links', 'logging', 'mac_address', 'mem_limit', 'mem_reservation', 'mem_swappiness', 'memswap_limit',
  'network_mode', 'oom_kill_disable', 'oom_score_adj', 'pid', 'pids_limit', 'platform', 'privileged', 'profiles',
  'pull_policy', 'restart', 'runtime', 'scale', 'security_opt', 'shm_size', 'stop_grace_period_ms', 'storage_opt',
  'tmpfs', 'ulimits', 'userns_mode', 'uts', 'volumes_from',
];

/** Keys under `deploy.resources.reservations` that are accepted and ignored. */
export const ignoredReservationKeys: readonly string[] = ['devices', 'generic_resources'];

/** The one warning line for the ignored keys seen (sorted, each once), or undefined for none. */
export function ignoredKeysWarning(keys: Iterable<string>): string | undefined {
  const sorted = [...new Set(keys)].sort();
  return sorted.length === 0 ? undefined : `Ignoring unsupported options: ${sorted.join(', ')}`;
}
