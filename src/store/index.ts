export { useSlidesStore } from './slides'
export { useSnapshotStore } from './snapshot'
export { useMainStore } from './main'
