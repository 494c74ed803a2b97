// npm start: the server (src/serve.ts), started as a process of its own.
import { failedToStart, serve } from './serve.js'

serve().catch(failedToStart)
