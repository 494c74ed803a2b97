// Sign-in with an external account (contract §13, docs/external-sign-in.md): the access
// token a client got from an OpenID Connect provider (the web client: Google) is checked at
// the provider's userinfo endpoint; its account signs in the user it is linked to, else the
// user whose confirmed address the provider verified (the account is then linked), else a new
// user (address confirmed). Links are listed, added and removed with /user/external.
import type { Deps } from '../deps.js'
import type { Tx } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { oidcProvidersOf, OidcError, type OidcClaims } from '../platform/oidc.js'
import { sha256 } from '../platform/secrets.js'
import { formatDate } from '../platform/dates.js'
import { checkApiKey, createSession } from './sessions.js'
import { signupExternal, signupHooks, type JoinAtSignup } from './service.js'
import { findUserById, idByEmail, type UserRecord } from './repository.js'
import { deleteLink, insertLink, invitationEmail, linkedUserId, linksOf, userByConfirmedEmail } from './external-repository.js'
import { authView } from './view.js'

/** the configured provider of `providerId` → its id as configured; 400/49 for any other */
function providerOf(deps: Deps, providerId: string) {
  const p = oidcProvidersOf(deps.config).find(providerId)
  if (!p) throw errors.externalProvider()
  return p
}

/** what the provider says about the token's holder; 400/50 when it refuses the token, 503 when it cannot be reached */
async function claimsOf(deps: Deps, providerId: string, accessToken: string): Promise<{ provider: string; claims: OidcClaims }> {
  const p = providerOf(deps, providerId)
  try {
    return { provider: p.id, claims: await oidcProvidersOf(deps.config).userInfo(p, accessToken) }
  } catch (e) {
    if (e instanceof OidcError && e.kind === 'unreachable') {
      deps.log.warn({ err: e, provider: p.id }, 'the sign-in provider could not be reached')
      throw errors.unavailable(`The sign-in provider ${p.id} could not be reached, please retry`)
    }
    throw errors.externalAccount()
  }
}

/** the verified address of the claims, else 400/50 */
function verifiedEmail(claims: OidcClaims): string {
  if (!claims.email || !claims.emailVerified) throw errors.externalAccount()
  return claims.email
}

export type ExternalSignIn = { providerId: string; accessToken: string; invitation?: string; apiKey: unknown }

/**
 * GET /user/authenticateExternal → the authenticate answer and its session id. An
 * `invitation` (team or contact) must have been sent to the verified address (400/51); it is
 * used as at sign-up: a new user joins with it, an existing one accepts it.
 */
export async function authenticateExternal(deps: Deps, input: ExternalSignIn): Promise<{ sessionId: string; body: ReturnType<typeof authView> }> {
  const apiKeyHash = await checkApiKey(deps, input.apiKey)
  const { provider, claims } = await claimsOf(deps, input.providerId, input.accessToken)
  const email = verifiedEmail(claims)
  let join: JoinAtSignup | undefined
  if (input.invitation) {
    const invited = await invitationEmail(deps.db, sha256(input.invitation))
    if (invited && invited.toLowerCase() !== email.toLowerCase()) throw errors.externalInvitationEmail()
    // unknown (400/6) or used (412/45) invitations answer as at sign-up
    join = signupHooks.invitation ? await signupHooks.invitation(deps, input.invitation) : undefined
  }
  const link = { provider, subject: claims.sub, email }

  const linkedId = await linkedUserId(deps.db, provider, claims.sub)
  const user = linkedId !== null ? await findUserById(deps.db, linkedId) : await userByConfirmedEmail(deps.db, email)
  if (user) {
    return deps.db.tx(async (tx) => {
      // signed in by address: the account is linked, unless the user has one of this provider already
      if (linkedId === null) await insertLink(tx, user.id, link)
      if (join) await join(tx, user.id)
      const sessionId = await createSession(tx, user.id, apiKeyHash)
      const current = join ? (await findUserById(tx, user.id))! : user
      return { sessionId, body: authView(current, sessionId) }
    })
  }
  // an account holds this address without having confirmed it: it is not signed in (whoever
  // registered it may not own the address) and no second account can take it → 400/22
  if ((await idByEmail(deps.db, email)) !== null) throw errors.emailRegistered()
  return signupExternal(deps, { email, firstName: claims.givenName ?? claims.name ?? '', lastName: claims.familyName ?? '' }, apiKeyHash, {
    join,
    link: async (tx: Tx, userId: number) => {
      if (!(await insertLink(tx, userId, link))) throw errors.externalLinkedElsewhere(provider)
    },
  })
}

export type LinkView = { providerId: string; email: string; time_create: string | null }

const linkView = (l: { provider: string; email: string; createdAt: Date }, tz: string): LinkView => ({ providerId: l.provider, email: l.email, time_create: formatDate(l.createdAt, tz) })

/** GET /user/external: the caller's linked providers */
export async function listLinks(deps: Deps, user: Pick<UserRecord, 'id'>, tz: string): Promise<LinkView[]> {
  return (await linksOf(deps.db, user.id)).map((l) => linkView(l, tz))
}

/**
 * POST /user/external: links the account the token belongs to. 400/56 when it is linked to
 * another user, 400/57 when the caller has another account of that provider; linking the
 * same account again changes nothing.
 */
export async function addLink(deps: Deps, user: Pick<UserRecord, 'id'>, providerId: string, accessToken: string, tz: string): Promise<LinkView> {
  const { provider, claims } = await claimsOf(deps, providerId, accessToken)
  return deps.db.tx(async (tx) => {
    const owner = await linkedUserId(tx, provider, claims.sub)
    if (owner !== null && owner !== user.id) throw errors.externalLinkedElsewhere(provider)
    const mine = (await linksOf(tx, user.id)).find((l) => l.provider === provider)
    if (mine && mine.subject !== claims.sub) throw errors.externalTypeLinked()
    if (!mine && !(await insertLink(tx, user.id, { provider, subject: claims.sub, email: claims.email ?? '' }))) {
      // a concurrent link took the account or the slot
      throw errors.externalLinkedElsewhere(provider)
    }
    return linkView((await linksOf(tx, user.id)).find((l) => l.provider === provider)!, tz)
  })
}

/** DELETE /user/external: unlinks the caller's account of that provider; 404/1 when there is none */
export async function removeLink(deps: Deps, user: Pick<UserRecord, 'id'>, providerId: string) {
  const p = providerId.trim().toUpperCase()
  if (!(await deleteLink(deps.db, user.id, p))) throw errors.notFound('External account')
}
