// The server process of test/helpers/server-process.ts: src/serve.ts as `npm start` runs it,
// with the suite's response check on (src/http/response-check.ts), as every in-process test
// app has it. A violation answers 500/100 and is written to stderr after VIOLATION, where
// startServer collects it: the process's kill() and stop() then fail the test.
import { failedToStart, serve } from '../../src/serve.js'
import { CHECKED, VIOLATION } from './violation.js'

process.stderr.write(`${CHECKED}\n`)
serve({ checkResponses: (v) => void process.stderr.write(`${VIOLATION} ${JSON.stringify(v)}\n`) }).catch(failedToStart)
