// Runs the fake Gemini server in its own process for the proxy benchmark, so the proxy's memory and
// CPU figures are its own. Options come as JSON in argv[2]; talks to the parent over IPC:
//   → { url }  when listening;  ← 'stats' → { stats };  ← 'close' → exits
import { startFakeGemini, type FakeGeminiOptions } from '../fakes/geminiServer.js'

const opts = JSON.parse(process.argv[2] ?? '{}') as FakeGeminiOptions
const fake = await startFakeGemini(opts)
process.send?.({ url: fake.url })
// never outlive the benchmark (e.g. when it fails before closing us)
process.on('disconnect', () => process.exit(0))
process.on('message', async (msg: unknown) => {
  if (msg === 'stats') process.send?.({ stats: fake.stats })
  if (msg === 'close') {
    await fake.close()
    process.exit(0)
  }
})
