// npm run seed: a demo team to try the API and the clients with. Everything goes through the
// HTTP API (the app built in-process, requests injected), so the data obeys the same rules
// as a client's. Run it once per database; a second run only prints the logins.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { loadConfigOrExit, type Config } from './config.js'
import { openDatabase } from './db/database.js'
import { buildApp } from './app.js'
import type { Mail, Mailer } from './services/mailer.js'
import { multipartBody, type FilePart } from './lib/multipart.js'

export const DEMO_PASSWORD = 'demo-password'
const people = [
  { login: 'demo-owner', firstName: 'Olivia', lastName: 'Owner' },
  { login: 'demo-manager', firstName: 'Max', lastName: 'Manager' },
  { login: 'demo-designer', firstName: 'Dana', lastName: 'Designer' },
  { login: 'demo-developer', firstName: 'Devin', lastName: 'Developer' },
] as const
const emailOf = (login: string) => `${login}@demo.hitask.localhost`

type Login = { id: number; session: string; login: string }

class SeedError extends Error {}

function client(app: FastifyInstance, apiKey: string) {
  async function call(method: string, url: string, session: string | null, params: Record<string, unknown> = {}, file?: FilePart) {
    const headers: Record<string, string> = session ? { 'x-hi-session': session } : {}
    let payload: string | Buffer | undefined
    let query: Record<string, string> | undefined
    const flat = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]))
    if (file) {
      const m = await multipartBody(flat, [file])
      payload = m.body
      headers['content-type'] = m.contentType
    } else if (method === 'GET') {
      query = flat
    } else {
      payload = new URLSearchParams(flat).toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
    }
    const r = await app.inject({ method: method as 'GET', url: '/api' + url, headers, payload, query })
    if (r.statusCode === 404 && r.json().error_message?.startsWith('Method ')) throw new SeedError(`${method} /api${url} is not served yet`)
    return { status: r.statusCode, body: r.json() as any }
  }
  async function ok(method: string, url: string, session: string | null, params?: Record<string, unknown>, file?: FilePart) {
    const r = await call(method, url, session, params, file)
    if (r.status !== 200) throw new SeedError(`${method} /api${url} answered ${r.status}: ${JSON.stringify(r.body)}`)
    return r.body
  }
  return {
    call,
    ok,
    async signup(p: (typeof people)[number]): Promise<Login> {
      const b = await ok('POST', '/user/signup', null, { login: p.login, email: emailOf(p.login), password: DEMO_PASSWORD, firstName: p.firstName, lastName: p.lastName, api_key: apiKey })
      return { id: b.id, session: b.session_id, login: p.login }
    },
  }
}

/** the newest email to an address (its text), as a user would open it */
export type ReadMail = (to: string, subject: RegExp) => Promise<string>

const tokenIn = (text: string) => {
  const m = /[?&]token=([A-Za-z0-9_-]+)/.exec(text)
  if (!m) throw new SeedError('no link with a token in the email')
  return m[1]!
}

/** the demo data; returns false when it is there already */
export async function seed(app: FastifyInstance, apiKey: string, readMail: ReadMail): Promise<boolean> {
  const api = client(app, apiKey)
  const first = await api.call('GET', '/user/authenticate', null, { login: people[0].login, password: DEMO_PASSWORD, api_key: apiKey })
  if (first.status === 200) return false

  const [owner, manager, designer, developer] = await Promise.all(people.map((p) => api.signup(p)))
  // each confirms their address with the link of the confirmation email
  for (const p of people) await api.ok('GET', '/user/confirm', null, { token: tokenIn(await readMail(emailOf(p.login), /confirm/i)) })

  // the team: the owner creates it and invites the others, who accept from their account
  let domainName = 'demo'
  for (let i = 2; ; i++) {
    const r = await api.call('POST', '/business', owner!.session, { title: 'Demo Team', domainName })
    if (r.status === 200) break
    if (r.body.response_status !== 37 || i > 20) throw new SeedError(`POST /api/business answered ${r.status}: ${JSON.stringify(r.body)}`)
    domainName = `demo-${i}`
  }
  for (const m of [manager!, designer!, developer!]) {
    await api.ok('POST', '/team/member', owner!.session, { email: emailOf(m.login), name: m.login })
    await api.ok('POST', '/team/member/accept', m.session, { token: tokenIn(await readMail(emailOf(m.login), /invit|join|team/i)) })
  }

  // groups
  const groups = await api.ok('GET', '/group', owner!.session)
  const everyone = groups.find((g: { type: number }) => g.type === 1)
  const design = await api.ok('POST', '/group', owner!.session, { name: 'Design', code: 'DES', color: '#e67e22' })
  const engineering = await api.ok('POST', '/group', owner!.session, { name: 'Engineering', code: 'ENG', color: '#2980b9' })
  for (const [g, m] of [[design, designer], [design, manager], [engineering, developer], [engineering, manager]] as const) {
    await api.ok('POST', `/group/${g.id}/contact/${m!.id}`, owner!.session)
  }

  // projects shared with groups, tasks with sub-tasks, an event and a note
  const website = await api.ok('POST', '/item', owner!.session, {
    title: 'Website relaunch',
    category: 0,
    short_name: 'WEB',
    color: 2,
    message: 'Everything for the new website.',
    permissions: [{ principal: String(everyone.id), level: 20 }, { principal: String(design.id), level: 60 }, { principal: String(engineering.id), level: 60 }],
  })
  const onboarding = await api.ok('POST', '/item', manager!.session, {
    title: 'Customer onboarding',
    category: 0,
    short_name: 'ONB',
    color: 5,
    permissions: [{ principal: String(everyone.id), level: 60 }],
  })
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)
  const task = (by: Login, fields: Record<string, unknown>) => api.ok('POST', '/item', by.session, { category: 1, ...fields })

  const design1 = await task(manager!, { title: 'Design the home page', parent: website.id, assignee: designer!.id, due_date: day(5), priority: 30000 })
  await task(designer!, { title: 'Wireframes', parent: design1.id, completed: true })
  await task(designer!, { title: 'Visual design', parent: design1.id, due_date: day(3) })
  await task(designer!, { title: 'Review with the team', parent: design1.id, due_date: day(4) })
  const build = await task(manager!, { title: 'Build the page templates', parent: website.id, assignee: developer!.id, participants: [designer!.id], due_date: day(10) })
  await task(developer!, { title: 'Set up the repository', parent: build.id, completed: true })
  await task(developer!, { title: 'Header and navigation', parent: build.id })
  await task(developer!, { title: 'Responsive layout', parent: build.id, tags: ['frontend'] })
  await task(owner!, { title: 'Write the launch announcement', parent: website.id, assignee: manager!.id, due_date: day(12), tags: ['marketing'] })
  await task(manager!, { title: 'Welcome call with ACME', parent: onboarding.id, assignee: manager!.id, due_date: day(1) })
  await task(manager!, { title: 'Prepare the onboarding checklist', parent: onboarding.id, completed: true })
  await api.ok('POST', '/item', owner!.session, { title: 'Team meeting', category: 2, start_date: `${day(2)}T10:00:00.000Z`, end_date: `${day(2)}T11:00:00.000Z`, permissions: [{ principal: String(everyone.id), level: 20 }] })
  await api.ok('POST', '/item', developer!.session, { title: 'Ideas for later', category: 4, message: 'Dark mode; keyboard shortcuts; offline use.' })
  await task(designer!, { title: 'Renew the font licence', starred: true, due_date: day(20) })

  // comments
  await api.ok('POST', '/item/comment', designer!.session, { id: design1.id, message: 'First wireframes are in the file below.' })
  await api.ok('POST', '/item/comment', manager!.session, { id: design1.id, message: 'Looks great, go ahead with the visual design.' })
  await api.ok('POST', '/item/comment', developer!.session, { id: build.id, message: 'I will start with the header once the designs are approved.' })

  // a file attached to the design task
  await api.ok('POST', '/file/upload', designer!.session, { parent_id: design1.id }, {
    field: 'file',
    name: 'wireframes.txt',
    type: 'text/plain',
    data: Buffer.from('Home page wireframes\n\n[ header | navigation ]\n[ hero image ]\n[ three feature boxes ]\n[ footer ]\n'),
  })
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
