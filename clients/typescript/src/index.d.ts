// Types of index.js. `paths` and `components` are generated from the server's OpenAPI
// document (schema.d.ts); every request and answer of the client is typed by them.
import type { Client, ClientOptions } from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type { components, paths }

type Schemas = components['schemas']
export type Item = Schemas['Item']
export type ChangedItem = Schemas['ChangedItem']
export type UnchangedItem = Schemas['UnchangedItem']
export type Alert = Schemas['Alert']
export type Permission = Schemas['Permission']
export type Preview = Schemas['Preview']
export type User = Schemas['User']
export type SignIn = Schemas['SignIn']
export type Contact = Schemas['Contact']
export type Business = Schemas['Business']
export type BusinessList = Schemas['BusinessList']
export type Group = Schemas['Group']
export type Tag = Schemas['Tag']
export type Comment = Schemas['Comment']
export type HistoryEntry = Schemas['HistoryEntry']
export type FileUrl = Schemas['FileUrl']
export type Preferences = Schemas['Preferences']
export type ParsedItem = Schemas['ParsedItem']
export type CalendarAddress = Schemas['CalendarAddress']
export type PushKey = Schemas['PushKey']
export type Webhook = Schemas['Webhook']
export type WebhookCreated = Schemas['WebhookCreated']
export type ExternalAccount = Schemas['ExternalAccount']
/** the body of every error answer */
export type ApiErrorBody = { error_message: string; response_status: number }

export declare class HitaskError extends Error {
  constructor(status: number, body: ApiErrorBody | undefined)
  readonly status: number
  /** the API's response code (contract §10), null when the body was not the envelope */
  readonly code: number | null
  readonly body: ApiErrorBody | undefined
}

export type HitaskClientOptions = ClientOptions & {
  /** a session id to start with (from a sign-in or sign-up) */
  session?: string | null
}

export type HitaskClient = Client<paths> & {
  /** the session id sent as x-hi-session, null before sign-in */
  readonly session: string | null
  setSession(id: string | null): void
  /** GET /api/user/authenticate; keeps the session id for later requests */
  signIn(credentials: { login: string; password: string; apiKey: string }): Promise<SignIn>
  /** GET /api/user/logout; forgets the session id */
  signOut(): Promise<void>
}

export declare function createHitaskClient(options?: HitaskClientOptions): HitaskClient
export default createHitaskClient

/** the X-Cursor header of GET /item, /item/since and /item/delta (null when absent) */
export declare function cursorOf(response: Response): number | null

/** a multipart body for the routes that take a file: pass it as `bodySerializer` */
export declare function multipart(body: Record<string, unknown> | undefined): FormData

/** `data` of a result, or throws a HitaskError for an error answer */
export declare function unwrap<D>(result: { data?: D; error?: unknown; response: Response }): Exclude<D, undefined>
