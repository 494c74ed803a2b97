// A real OpenID Connect provider (the `oidc-provider` package) on 127.0.0.1, and a user's
// access token obtained from it over HTTP the way a browser and a web client would: the
// authorization code flow (authorize → the provider's sign-in form → the code → the token
// endpoint). Nothing is mocked: the server under test discovers the provider and asks its
// userinfo endpoint like any other.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

export type Account = { email?: string; email_verified?: boolean | string; given_name?: string; family_name?: string; name?: string }

const CLIENT = { client_id: 'hitask-web', client_secret: 'a-test-client-secret-0123456789', redirect_uri: 'http://127.0.0.1/signed-in' }

export type TestProvider = Awaited<ReturnType<typeof startProvider>>

export async function startProvider() {
  const accounts = new Map<string, Account>()
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT.client_id,
        client_secret: CLIENT.client_secret,
        redirect_uris: [CLIENT.redirect_uri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'] },
    findAccount: async (_ctx, id) => (accounts.has(id) ? { accountId: id, claims: async () => ({ sub: id, ...accounts.get(id) }) } : undefined),
    // the consent screen is not what is tested: the client is granted what it asks
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! })
      grant.addOIDCScope('openid email profile')
      await grant.save()
      return grant
    },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => false },
    cookies: { keys: ['a-test-cookie-key-0123456789'] },
  })
  // the provider runs in development mode: its sign-in form takes any account id
  server.on('request', provider.callback())

  /** a browser's cookie jar for one sign-in */
  function jar() {
    const cookies = new Map<string, string>()
    return {
      take(res: Response) {
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';')
          const eq = pair!.indexOf('=')
          cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1))
        }
      },
      header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    }
  }

  const t = {
    issuer,
    accounts,
    /**
     * The user `accountId` signs in at the provider; the client exchanges the code → a real
     * access token (and its refresh token, when the provider gives one).
     */
    async accessToken(accountId: string): Promise<{ accessToken: string; refreshToken?: string }> {
      const cookies = jar()
      const go = async (url: string, init: RequestInit = {}) => {
        const res = await fetch(new URL(url, issuer), { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: cookies.header() } })
        cookies.take(res)
        return res
      }
      const auth = new URL('/auth', issuer)
      auth.search = new URLSearchParams({ client_id: CLIENT.client_id, response_type: 'code', scope: 'openid email profile', redirect_uri: CLIENT.redirect_uri, state: 'st', nonce: 'n' }).toString()
      let res = await go(auth.toString())
      // the sign-in form of the interaction, posted as the browser would
      let location = res.headers.get('location')!
      if (!location?.startsWith('/interaction/')) throw new Error(`no interaction: ${res.status} ${await res.text()}`)
      const form = await go(location)
      const action = /action="([^"]+)"/.exec(await form.text())?.[1] ?? location
      res = await go(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ prompt: 'login', login: accountId, password: 'any' }).toString() })
      // back to the authorization endpoint, which redirects to the client with a code
      for (let hops = 0; hops < 5; hops++) {
        location = res.headers.get('location')!
        if (!location) throw new Error(`sign-in stopped: ${res.status} ${await res.text()}`)
        if (location.startsWith(CLIENT.redirect_uri)) break
        res = await go(location)
      }
      const code = new URL(location).searchParams.get('code')
      if (!code) throw new Error(`no code: ${location}`)
      const token = await fetch(new URL('/token', issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirect_uri, client_id: CLIENT.client_id, client_secret: CLIENT.client_secret }).toString(),
      })
      const body = (await token.json()) as { access_token?: string; refresh_token?: string }
      if (!body.access_token) throw new Error(`no access token: ${JSON.stringify(body)}`)
      return { accessToken: body.access_token, refreshToken: body.refresh_token }
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return t
}
