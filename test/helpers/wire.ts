// What every test client sends: the API key the test servers accept, and form encoding.
// No vitest import here, so a benchmark (bench/) can use it too.
export const API_KEY = 'test-api-key-0123456789'

export function formEncode(o: Record<string, unknown>): string {
  return Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))}`)
    .join('&')
}
