/** Named local volumes of one node: names, the local driver's options, the store, copy-up. */
export { validateVolumeName, generatedVolumeName, volumeNamePattern, anonymousVolumeLabel } from './names.js';
export { parseLocalOptions, checkDriver, localDriver, type LocalMount } from './local-options.js';
export { VolumeStore, type VolumeInfo, type VolumeMeta, type VolumeRequest, type HeldVolume, type VolumeStoreOptions } from './volume-store.js';
export { copyUp, resolveInRoot, isEmptyDir } from './copy-up.js';
