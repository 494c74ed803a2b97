// Sizes of the reliability checks: small enough for CI by default, larger with
// RELIABILITY_SCALE=full (the figures in docs/reliability.md come from a full run).
export const FULL = process.env.RELIABILITY_SCALE === 'full'
export const scale = <T>(ci: T, full: T): T => (FULL ? full : ci)

/** prints a figure for docs/reliability.md in a form easy to grep from the log */
export function report(name: string, figures: Record<string, unknown>) {
  console.log(`RELIABILITY ${name} ${JSON.stringify(figures)}`)
}
