// Configuration: checked at start; a bad value stops the server with a message naming it.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/platform/config.js'

describe('configuration', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({ PORT: 3000, RATE_LIMIT_PER_MINUTE: 600, LOG_LEVEL: 'info', API_KEYS: [], SESSION_IDLE_DAYS: 30 })
    expect(c.DATABASE_URL).toBeUndefined()
  })

  it('parses lists and numbers', () => {
    const c = loadConfig({ API_KEYS: 'a, b,,c', PORT: '8080', REDIS_URL: 'redis://localhost:6379' })
    expect(c.API_KEYS).toEqual(['a', 'b', 'c'])
    expect(c.PORT).toBe(8080)
  })

  it('names each bad variable', () => {
    for (const [k, v] of [['PORT', 'eighty'], ['PORT', '70000'], ['DATABASE_URL', 'not a url'], ['LOG_LEVEL', 'loud'], ['RATE_LIMIT_PER_MINUTE', '0'], ['SMTP_URL', '::']]) {
      expect(() => loadConfig({ [k!]: v })).toThrow(ConfigError)
      expect(() => loadConfig({ [k!]: v })).toThrow(new RegExp(k!))
    }
  })

  it('reads OIDC_PROVIDERS: ID=ISSUER_URL pairs, a bare GOOGLE, ids upper-cased; anything else names the variable', () => {
    expect(loadConfig({}).OIDC_PROVIDERS).toEqual([])
    expect(loadConfig({ OIDC_PROVIDERS: 'GOOGLE, corp=https://id.example.com/realms/corp/ ,Local=http://127.0.0.1:8080' }).OIDC_PROVIDERS).toEqual([
      { id: 'GOOGLE', issuer: 'https://accounts.google.com' },
      { id: 'CORP', issuer: 'https://id.example.com/realms/corp' },
      { id: 'LOCAL', issuer: 'http://127.0.0.1:8080' },
    ])
    for (const bad of ['CORP', 'CORP=', 'CORP=ftp://x', 'CORP=https://x?a=1', 'A B=https://x', 'X=https://a,x=https://b']) {
      expect(() => loadConfig({ OIDC_PROVIDERS: bad }), bad).toThrow(/OIDC_PROVIDERS/)
    }
  })

  it('stops the real server with the message and exit code 2', { timeout: 90_000 }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: { ...process.env, PORT: 'eighty', DATABASE_URL: '' }, encoding: 'utf8', timeout: 80_000 })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('Invalid configuration')
    expect(r.stderr).toContain('PORT')
  })
})
