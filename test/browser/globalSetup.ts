// Builds the demo once for every browser test file (each file's beforeAll calls buildDemo(), which
// then finds it built): a build takes 15–30 s on 2 cores, and there are several files.
import { buildDemo } from './harness'

export default function setup(): void {
  buildDemo()
  // test workers are started after this and inherit the environment
  process.env.NB_DEMO_BUILT = '1'
}
