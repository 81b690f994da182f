/** The netns lab: a cluster of hosts on one machine, for tests, the demo and benchmarks. */
export { labUp, labDown, labDownAll, labList, labExec, labKillHost, labStartHost, findHost, belongsToLab, type LabStatus, type LabDownReport } from './lab.js';
export { type LabRecord, type LabHost, labRoot } from './record.js';
export { parseHostCount, validateLabName, maxLabHosts } from './names.js';
export { startHostDaemon, stopHostDaemon, hostDaemonPid, callHost, formSwarm, hostSocket, hostManagerAddr, hostLogFile, type LabDaemonOptions } from './daemons.js';
export { startLabRegistry, labRegistryAddr, labRegistryPort } from './registry.js';
