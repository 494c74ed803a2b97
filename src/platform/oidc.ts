// OpenID Connect providers (contract §13, docs/external-sign-in.md): which are configured
// (OIDC_PROVIDERS), their discovery documents (openid-client, cached), and what an access
// token says about its holder at the provider's userinfo endpoint. Knows no domain: the users
// domain decides what a verified email means.
import * as client from 'openid-client'
import type { Config, OidcProviderConfig } from './config.js'

export type OidcClaims = {
  /** the provider's stable id of the account */
  sub: string
  email: string | null
  /** the provider says it verified `email` */
  emailVerified: boolean
  givenName: string | null
  familyName: string | null
  name: string | null
}

/** why a token could not be checked */
export class OidcError extends Error {
  constructor(
    readonly kind: 'refused' | 'unreachable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** the client id sent with discovery; nothing is registered under it (userinfo needs only the token) */
const CLIENT_ID = 'hitask-server'
/** a discovery document is kept this long, then fetched again */
const DISCOVERY_TTL_MS = 60 * 60 * 1000

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

export class OidcProviders {
  private readonly byId: Map<string, OidcProviderConfig>
  private readonly discovered = new Map<string, { at: number; config: Promise<client.Configuration> }>()

  constructor(private readonly config: Pick<Config, 'OIDC_PROVIDERS' | 'OIDC_TIMEOUT_MS'>) {
    this.byId = new Map(config.OIDC_PROVIDERS.map((p) => [p.id, p]))
  }

  /** the configured provider of this id (case-insensitive), or undefined */
  find(providerId: string): OidcProviderConfig | undefined {
    return this.byId.get(providerId.trim().toUpperCase())
  }

  /** the provider's discovery document (ISSUER/.well-known/openid-configuration), kept for an hour; a failure is not kept */
  private discovery(p: OidcProviderConfig): Promise<client.Configuration> {
    const hit = this.discovered.get(p.id)
    if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.config
    const issuer = new URL(p.issuer)
    // plain http only for a provider on this machine (development, tests); openid-client
    // refuses it otherwise
    const execute = issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname) ? [client.allowInsecureRequests] : []
    const config = client.discovery(issuer, CLIENT_ID, undefined, undefined, { execute, timeout: Math.ceil(this.config.OIDC_TIMEOUT_MS / 1000) })
    const entry = { at: Date.now(), config }
    this.discovered.set(p.id, entry)
    config.catch(() => {
      if (this.discovered.get(p.id) === entry) this.discovered.delete(p.id)
    })
    return config
  }

  /** the claims the provider's userinfo endpoint gives for `accessToken` */
  async userInfo(p: OidcProviderConfig, accessToken: string): Promise<OidcClaims> {
    let config: client.Configuration
    try {
      config = await this.discovery(p)
    } catch (e) {
      throw new OidcError('unreachable', `discovery of ${p.id} failed`, { cause: e })
    }
    let info: Awaited<ReturnType<typeof client.fetchUserInfo>>
    try {
      info = await client.fetchUserInfo(config, accessToken, client.skipSubjectCheck)
    } catch (e) {
      // a network failure is the provider's; any answer that is not claims is a refusal
      const unreachable = e instanceof TypeError || (e as { name?: string }).name === 'TimeoutError' || (e as { name?: string }).name === 'AbortError'
      throw new OidcError(unreachable ? 'unreachable' : 'refused', `userinfo of ${p.id} failed`, { cause: e })
    }
    if (typeof info.sub !== 'string' || !info.sub) throw new OidcError('refused', `userinfo of ${p.id} has no subject`)
    const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null)
    // some providers send the flag as text
    const verified = info.email_verified === true || (info.email_verified as unknown) === 'true'
    return { sub: info.sub, email: str(info.email), emailVerified: verified, givenName: str(info.given_name), familyName: str(info.family_name), name: str(info.name) }
  }
}

const perConfig = new WeakMap<object, OidcProviders>()

/** the providers of this configuration (one instance per configuration: its discovery cache) */
export function oidcProvidersOf(config: Pick<Config, 'OIDC_PROVIDERS' | 'OIDC_TIMEOUT_MS'>): OidcProviders {
  let p = perConfig.get(config)
  if (!p) perConfig.set(config, (p = new OidcProviders(config)))
  return p
}
