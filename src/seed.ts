// npm run seed: a demo team to try the API and the clients with. Everything goes through the
// typed client of clients/typescript (the app built in-process, its requests injected), so the
// data obeys the same rules as a client's and the client is exercised on every seed and test run. Run it once per database; a second run only prints the logins.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { loadConfigOrExit, type Config } from './platform/config.js'
import { openDatabase } from './platform/db/open.js'
import { buildApp } from './app.js'
import type { Mail, Mailer } from './platform/mailer.js'
import { injectFetch } from './http/inject-fetch.js'
import { createHitaskClient, multipart, type HitaskClient, type Item, type paths } from '../clients/typescript/src/index.js'

export const DEMO_PASSWORD = 'demo-password'
const people = [
  { login: 'demo-owner', firstName: 'Olivia', lastName: 'Owner' },
  { login: 'demo-manager', firstName: 'Max', lastName: 'Manager' },
  { login: 'demo-designer', firstName: 'Dana', lastName: 'Designer' },
  { login: 'demo-developer', firstName: 'Devin', lastName: 'Developer' },
] as const
const emailOf = (login: string) => `${login}@demo.hitask.localhost`

type Login = { id: number; session: string; login: string; api: HitaskClient }
/** what POST /api/item takes (the document's request body) */
type ItemInput = NonNullable<paths['/api/item']['post']['requestBody']>['content']['application/json']

class SeedError extends Error {}

/** a client of the typed API (clients/typescript) that answers from the app in-process */
const clientOf = (app: FastifyInstance, session: string | null = null) => createHitaskClient({ baseUrl: 'http://seed.localhost', fetch: injectFetch(app), session })

type Result<T> = { data?: T; error?: { error_message: string; response_status: number }; response: Response }

/** the answer of a call the seed needs, or a SeedError that names it */
function ok<T>(what: string, r: Result<T>): T {
  if (r.data !== undefined && r.response.ok) return r.data
  if (r.response.status === 404 && r.error?.error_message?.startsWith('Method ')) throw new SeedError(`${what} is not served yet`)
  throw new SeedError(`${what} answered ${r.response.status}: ${JSON.stringify(r.error)}`)
}

/** the newest email to an address (its text), as a user would open it */
export type ReadMail = (to: string, subject: RegExp) => Promise<string>

const tokenIn = (text: string) => {
  const m = /[?&]token=([A-Za-z0-9_-]+)/.exec(text)
  if (!m) throw new SeedError('no link with a token in the email')
  return m[1]!
}

/** the demo data, made through the typed client; returns false when it is there already */
export async function seed(app: FastifyInstance, apiKey: string, readMail: ReadMail): Promise<boolean> {
  const anonymous = clientOf(app)
  const first = await anonymous.GET('/api/user/authenticate', { params: { query: { login: people[0].login, password: DEMO_PASSWORD, api_key: apiKey } } })
  if (first.response.ok) return false

  const signup = async (p: (typeof people)[number]): Promise<Login> => {
    const body = { login: p.login, email: emailOf(p.login), password: DEMO_PASSWORD, firstName: p.firstName, lastName: p.lastName, api_key: apiKey }
    const b = ok('POST /api/user/signup', await anonymous.POST('/api/user/signup', { body }))
    return { id: b.id, session: b.session_id, login: p.login, api: clientOf(app, b.session_id) }
  }
  const [owner, manager, designer, developer] = (await Promise.all(people.map(signup))) as [Login, Login, Login, Login]
  // each confirms their address with the link of the confirmation email
  for (const p of people) {
    const token = tokenIn(await readMail(emailOf(p.login), /confirm/i))
    ok('GET /api/user/confirm', await anonymous.GET('/api/user/confirm', { params: { query: { token } } }))
  }

  // the team: the owner creates it and invites the others, who accept from their account
  let domainName = 'demo'
  for (let i = 2; ; i++) {
    const r = await owner.api.POST('/api/business', { body: { title: 'Demo Team', domainName } })
    if (r.response.ok) break
    if (r.error?.response_status !== 37 || i > 20) ok('POST /api/business', r)
    domainName = `demo-${i}`
  }
  for (const m of [manager, designer, developer]) {
    ok('POST /api/team/member', await owner.api.POST('/api/team/member', { body: { email: emailOf(m.login), name: m.login } }))
    const token = tokenIn(await readMail(emailOf(m.login), /invit|join|team/i))
    ok('POST /api/team/member/accept', await m.api.POST('/api/team/member/accept', { body: { token } }))
  }

  // groups
  const groups = ok('GET /api/group', await owner.api.GET('/api/group'))
  const everyone = groups.find((g) => g.type === 1)
  if (!everyone) throw new SeedError('the team has no Everyone group')
  const group = async (name: string, code: string, color: string) => ok('POST /api/group', await owner.api.POST('/api/group', { body: { name, code, color } }))
  const design = await group('Design', 'DES', '#e67e22')
  const engineering = await group('Engineering', 'ENG', '#2980b9')
  for (const [g, m] of [[design, designer], [design, manager], [engineering, developer], [engineering, manager]] as const) {
    ok('POST /api/group/{groupId}/contact/{id}', await owner.api.POST('/api/group/{groupId}/contact/{id}', { params: { path: { groupId: g.id, id: String(m.id) } } }))
  }

  // projects shared with groups, tasks with sub-tasks, an event and a note
  const create = async (by: Login, body: ItemInput): Promise<Item> => ok('POST /api/item', await by.api.POST('/api/item', { body }))
  const website = await create(owner, {
    title: 'Website relaunch',
    category: 0,
    short_name: 'WEB',
    color: 2,
    message: 'Everything for the new website.',
    permissions: [{ principal: everyone.id, level: 20 }, { principal: design.id, level: 60 }, { principal: engineering.id, level: 60 }],
  })
  const onboarding = await create(manager, { title: 'Customer onboarding', category: 0, short_name: 'ONB', color: 5, permissions: [{ principal: everyone.id, level: 60 }] })
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)
  const task = (by: Login, fields: ItemInput) => create(by, { category: 1, ...fields })

  const design1 = await task(manager, { title: 'Design the home page', parent: website.id, assignee: designer.id, due_date: day(5), priority: 30000 })
  await task(designer, { title: 'Wireframes', parent: design1.id, completed: true })
  await task(designer, { title: 'Visual design', parent: design1.id, due_date: day(3) })
  await task(designer, { title: 'Review with the team', parent: design1.id, due_date: day(4) })
  const build = await task(manager, { title: 'Build the page templates', parent: website.id, assignee: developer.id, participants: [designer.id], due_date: day(10) })
  await task(developer, { title: 'Set up the repository', parent: build.id, completed: true })
  await task(developer, { title: 'Header and navigation', parent: build.id })
  await task(developer, { title: 'Responsive layout', parent: build.id, tags: ['frontend'] })
  await task(owner, { title: 'Write the launch announcement', parent: website.id, assignee: manager.id, due_date: day(12), tags: ['marketing'] })
  await task(manager, { title: 'Welcome call with ACME', parent: onboarding.id, assignee: manager.id, due_date: day(1) })
  await task(manager, { title: 'Prepare the onboarding checklist', parent: onboarding.id, completed: true })
  await create(owner, { title: 'Team meeting', category: 2, start_date: `${day(2)}T10:00:00.000Z`, end_date: `${day(2)}T11:00:00.000Z`, permissions: [{ principal: everyone.id, level: 20 }] })
  await create(developer, { title: 'Ideas for later', category: 4, message: 'Dark mode; keyboard shortcuts; offline use.' })
  await task(designer, { title: 'Renew the font licence', starred: true, due_date: day(20) })

  // comments
  const comment = async (by: Login, item: Item, message: string) => ok('POST /api/item/comment', await by.api.POST('/api/item/comment', { body: { id: String(item.id), message } }))
  await comment(designer, design1, 'First wireframes are in the file below.')
  await comment(manager, design1, 'Looks great, go ahead with the visual design.')
  await comment(developer, build, 'I will start with the header once the designs are approved.')

  // a file attached to the design task
  const wireframes = new File(['Home page wireframes\n\n[ header | navigation ]\n[ hero image ]\n[ three feature boxes ]\n[ footer ]\n'], 'wireframes.txt', { type: 'text/plain' })
  ok('POST /api/file/upload', await designer.api.POST('/api/file/upload', { body: { parent_id: design1.id, file: wireframes }, bodySerializer: multipart }))
  return true
}

/** the API key to sign the demo users up with: configured, or the one npm start generated */
function apiKeyOf(config: Config): { key: string; configured: boolean } {
  if (config.API_KEYS[0]) return { key: config.API_KEYS[0], configured: true }
  const file = path.resolve(config.DATA_DIR, 'api-key')
  if (fs.existsSync(file)) return { key: fs.readFileSync(file, 'utf8').trim(), configured: true }
  // none yet: a key for this run only (the demo users sign in later with the server's)
  return { key: crypto.randomBytes(18).toString('base64url'), configured: false }
}

async function main() {
  const config = loadConfigOrExit()
  const { key } = apiKeyOf(config)
  const opened = await openDatabase(config, (m) => process.stderr.write(m + '\n'))
  // the seed's own requests are not worth a log line each
  const quiet = new Writable({ write: (_c, _e, cb) => cb() })
  // the demo users' emails (at a domain that does not exist) are read here, not sent
  const inbox: Mail[] = []
  const mailer: Mailer = { kind: 'log', send: async (m) => void inbox.push(m), close: () => {} }
  const readMail: ReadMail = async (to, subject) => {
    const m = inbox.filter((x) => x.to === to && subject.test(x.subject)).at(-1)
    if (!m) throw new SeedError(`no email "${subject.source}" to ${to}`)
    return m.text
  }
  const { app, deps } = await buildApp({ config: { ...config, API_KEYS: [...config.API_KEYS, key] }, db: opened.db, logStream: quiet, mailer })
  let code = 0
  try {
    const created = await seed(app, key, readMail)
    console.log(created ? 'Demo data created: team "Demo Team", 2 projects, tasks with sub-tasks, comments and a file.' : 'Demo data is there already.')
    console.log(`\nSign in with any of these logins, password "${DEMO_PASSWORD}":`)
    for (const p of people) console.log(`  ${p.login.padEnd(16)} ${p.firstName} ${p.lastName}${p === people[0] ? ' (team owner)' : ''}`)
  } catch (e) {
    code = 1
    process.stderr.write(e instanceof SeedError ? `seed stopped: ${e.message}\n` : `seed failed: ${e instanceof Error ? e.stack : String(e)}\n`)
  } finally {
    await app.close()
    await deps.counters.close()
    deps.mailer.close()
    await opened.db.close()
    await opened.stopEmbedded?.()
  }
  process.exit(code)
}

// run as a script (npm run seed), not when imported by a test
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) await main()
