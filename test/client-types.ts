// A type-level test of the generated client (clients/typescript), checked by `tsc --noEmit`
// (npm run typecheck, CI): calls that fit the server's declared schemas compile, and each
// `@ts-expect-error` line is a call or a read that does not fit them, so it must NOT compile;
// if the document stopped describing it, the directive itself becomes an error. Nothing here
// runs (the module is never imported).
import {
  createHitaskClient,
  type CalendarAddress,
  type ExternalAccount,
  type Item,
  type ParsedItem,
  type PushKey,
  type SignIn,
  type User,
  type Webhook,
  type WebhookCreated,
} from '../clients/typescript/src/index.js'
import type { paths } from '../clients/typescript/src/schema.js'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const assertType = <T extends true>(_: T) => _

export async function typeLevelChecks() {
  const api = createHitaskClient({ baseUrl: 'https://hitask.example.com' })

  // sign-in: login and password are required query parameters
  await api.GET('/api/user/authenticate', { params: { query: { login: 'a', password: 'b', api_key: 'k' } } })
  // @ts-expect-error password is required
  await api.GET('/api/user/authenticate', { params: { query: { login: 'a' } } })

  // the item answers are typed by the Item component
  const one = await api.GET('/api/item/{id}', { params: { path: { id: '42' } } })
  if (one.data) {
    const title: string = one.data.title
    const children: true | null = one.data.children
    const previews: { url: string; size: number; type: 'SQUARE' | 'PROPORTIONAL' }[] | null = one.data.previews
    const level: 0 | 10 | 20 | 30 | 40 | 50 | 60 | 70 | 80 | 100 = one.data.permission
    void [title, children, previews, level]
    // @ts-expect-error title is a string, not a number
    const wrong: number = one.data.title
    // @ts-expect-error the item has no field `name`
    void one.data.name
    void wrong
  }
  // @ts-expect-error the path parameter is required
  await api.GET('/api/item/{id}', {})
  // @ts-expect-error no such route
  await api.GET('/api/items')

  // create: the body is the item input (title is checked by the server: 400/4 without one)
  const created = await api.POST('/api/item', { body: { title: 'x', category: 1, tags: ['a'], starred: true } })
  if (created.data) assertType<Equals<typeof created.data, Item>>(true)
  // a comment needs the item and the message
  await api.POST('/api/item/comment', { body: { id: '42', message: 'hello' } })
  // @ts-expect-error message is required
  await api.POST('/api/item/comment', { body: { id: '42' } })
  // @ts-expect-error category is a number
  await api.POST('/api/item', { body: { title: 'x', category: { nope: true } } })

  // the error envelope of a failed call
  if (created.error) {
    const code: number = created.error.response_status
    const message: string = created.error.error_message
    void [code, message]
  }

  // the delta: a union told apart by `changed`
  const delta = await api.GET('/api/item/delta/{cursor}', { params: { path: { cursor: '0' } } })
  for (const e of delta.data ?? []) {
    if (e.changed) {
      const t: string = e.title
      void t
    } else {
      // @ts-expect-error an unchanged entry carries only its id
      void e.title
    }
  }

  // other shapes
  const me = await api.GET('/api/user')
  if (me.data) assertType<Equals<typeof me.data, User>>(true)
  const groups = await api.GET('/api/group')
  if (groups.data) {
    const members: number[] = groups.data[0]!.members
    // @ts-expect-error a group id is a string
    const id: number = groups.data[0]!.id
    void [members, id]
  }
  type BusinessLevel = paths['/api/list/business']['get']['responses']['200']['content']['application/json']['level']
  assertType<Equals<BusinessLevel, 0 | 1 | 2 | 10 | 100>>(true)

  // the routes of import, webhooks, Web Push, the calendar and external sign-in
  const parsed = await api.POST('/api/import/upload', { body: {} as never })
  if (parsed.data) {
    assertType<Equals<typeof parsed.data, ParsedItem[]>>(true)
    const start: string | null = parsed.data[0]!.start_date
    const tags: string[] = parsed.data[0]!.tags
    void [start, tags]
  }
  const imported = await api.POST('/api/import', { body: {} as never })
  if (imported.data) assertType<Equals<typeof imported.data, Item[]>>(true)
  const hooks = await api.GET('/api/webhook')
  if (hooks.data) {
    assertType<Equals<typeof hooks.data, Webhook[]>>(true)
    assertType<Equals<Webhook['events'][number], 'item.created' | 'item.updated' | 'item.completed' | 'item.deleted' | 'item.commented'>>(true)
    // @ts-expect-error a listed webhook has no secret (shown once, at creation)
    void hooks.data[0]!.secret
  }
  const hook = await api.POST('/api/webhook', { body: { url: 'https://hooks.example.com/h', events: ['item.created'] } })
  if (hook.data) assertType<Equals<typeof hook.data, WebhookCreated>>(true)
  const key = await api.GET('/api/user/push/key')
  if (key.data) assertType<Equals<typeof key.data, PushKey>>(true)
  const feed = await api.GET('/api/user/calendar')
  if (feed.data) assertType<Equals<typeof feed.data, CalendarAddress>>(true)
  const external = await api.GET('/api/user/authenticateExternal', { params: { query: { accessToken: 't', providerId: 'GOOGLE' } } })
  if (external.data) assertType<Equals<typeof external.data, SignIn>>(true)
  const links = await api.GET('/api/user/external')
  if (links.data) assertType<Equals<typeof links.data, ExternalAccount[]>>(true)
  // @ts-expect-error providerId is required
  await api.DELETE('/api/user/external', { body: {} })
}

/** the flows of clients/typescript/README.md, as written there: they must compile */
export async function readmeExamples(bytes: Uint8Array) {
  const { unwrap, cursorOf, multipart } = await import('../clients/typescript/src/index.js')
  const api = createHitaskClient({ baseUrl: 'https://hitask.example.com' })
  await api.signIn({ login: 'olivia', password: 'correct horse battery', apiKey: process.env.HITASK_API_KEY! })
  const me = unwrap(await api.GET('/api/user'))
  console.log(me.firstName, me.accountType)

  const list = await api.GET('/api/item')
  const items = unwrap(list)
  let cursor = cursorOf(list.response)!
  const task = unwrap(await api.POST('/api/item', { body: { title: 'Write the report', category: 1, due_date: '2030-05-20', tags: ['work'] } }))
  const same = unwrap(await api.GET('/api/item/{id}', { params: { path: { id: String(task.id) } } }))
  const done = unwrap(await api.PUT('/api/item/{id}', { params: { path: { id: String(task.id) } }, body: { completed: true } }))
  const r = await api.GET('/api/item/{id}', { params: { path: { id: '999999' } } })
  if (r.error) console.log(r.response.status, r.error.response_status, r.error.error_message)

  const byId = new Map(items.map((i) => [i.id, i]))
  async function sync() {
    const r = await api.GET('/api/item/delta/{cursor}', { params: { path: { cursor: String(cursor) } } })
    const entries = unwrap(r)
    const seen = new Set<number>()
    for (const e of entries) {
      seen.add(e.id)
      if (e.changed) byId.set(e.id, e)
    }
    for (const id of byId.keys()) if (!seen.has(id)) byId.delete(id)
    cursor = cursorOf(r.response)!
  }
  await sync()

  const file = new File([bytes], 'report.pdf', { type: 'application/pdf' })
  const item = unwrap(await api.POST('/api/file/upload', { body: { parent_id: task.id, file }, bodySerializer: multipart }))
  const { url } = unwrap(await api.GET('/api/file/url', { params: { query: { id: String(item.id) } } }))
  return [same, done, url]
}
