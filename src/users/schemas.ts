// What users look like on the wire (contract §2, §3, §3.1): the user object, the sign-in
// answer, the API key, the picture hash and the preferences map. view.ts and preferences.ts
// write them; the OpenAPI document and the generated client read them from here.
import { z } from 'zod'
import { dateOut, idOut } from '../platform/responses.js'
import { PREFERENCES } from './preferences.js'

export const ACCOUNT_TYPES = ['PERSONAL_FREE', 'PERSONAL_PREMIUM', 'TEAM_BASIC', 'TEAM_BUSINESS'] as const
export const accountTypeSchema = z.enum(ACCOUNT_TYPES)
export const accountLevelSchema = z.literal([0, 50, 100, 150, 200]).meta({ description: '0 free, 50 premium expired, 100 premium, 150 business expired, 200 business' })
export const businessLevelSchema = z.literal([1, 2, 10, 100]).meta({ description: '1 member, 2 manager, 10 administrator, 100 owner' })
export const pictureSourceSchema = z
  .literal([0, 1, 2, 10, 11, 12, 100])
  .meta({ description: '0 missing, 1 generating, 2 generated, 10 Google, 11 Facebook, 12 Gravatar, 100 uploaded' })

export const userSchema = z
  .strictObject({
    id: idOut(),
    login: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    email: z.string().meta({ description: 'the current address (a changed one until confirmed: see emailConfirmed)' }),
    emailConfirmed: z.string().nullable().meta({ description: 'the address whose confirmation link was used; null when none was' }),
    accountType: accountTypeSchema,
    level: accountLevelSchema,
    businessId: idOut().nullable(),
    businessLevel: businessLevelSchema.nullable(),
    isOnline: z.boolean().meta({ description: 'made a request within the last 5 minutes' }),
    pictureHash: z.string().meta({ description: 'the avatar at /avatar/{pictureHash}.{size}.gif' }),
    pictureSource: pictureSourceSchema,
  })
  .meta({
    id: 'User',
    description: 'The signed-in user (contract §3)',
    examples: [
      {
        id: 1042,
        login: 'olivia',
        firstName: 'Olivia',
        lastName: 'Owner',
        email: 'olivia@example.com',
        emailConfirmed: 'olivia@example.com',
        accountType: 'TEAM_BUSINESS',
        level: 200,
        businessId: 12,
        businessLevel: 100,
        isOnline: true,
        pictureHash: 'b7f0c0a4e3d94f0e8d1c',
        pictureSource: 2,
      },
    ],
  })
export type UserView = z.output<typeof userSchema>

export const signInSchema = z
  .strictObject({
    login_id: z.string(),
    account_type: accountTypeSchema,
    level: accountLevelSchema,
    session_id: z.string().meta({ description: 'send it as the x-hi-session header, the session_id parameter or the HI_SESSION cookie' }),
    id: idOut(),
    picture_hash: z.string(),
    email: z.string(),
    email_confirmed: z.boolean().meta({ description: 'the current address is confirmed' }),
  })
  .meta({
    id: 'SignIn',
    description: 'The answer of sign-in and sign-up (contract §2); the HI_SESSION cookie is set too',
    examples: [{ login_id: 'olivia', account_type: 'PERSONAL_FREE', level: 0, session_id: 'q8Jx0u3Vb1mYk2sLr7tW9aZc', id: 1042, picture_hash: 'b7f0c0a4e3d94f0e8d1c', email: 'olivia@example.com', email_confirmed: true }],
  })
export type SignInView = z.output<typeof signInSchema>

export const apiKeyCreatedSchema = z
  .strictObject({ api_key: z.string().meta({ description: 'shown once: only a hash is kept' }), name: z.string() })
  .meta({ id: 'ApiKeyCreated', examples: [{ api_key: 'Zk3u8QmT0bX1vR5nL2pA9cYe', name: 'my script' }] })

export const apiKeySchema = z
  .strictObject({ name: z.string(), prefix: z.string().meta({ description: 'the first characters of the key' }), time_create: dateOut() })
  .meta({ id: 'ApiKey', examples: [{ name: 'my script', prefix: 'Zk3u8Q', time_create: '2024-05-13T10:02:41.518+02:00' }] })

export const pictureSchema = z.strictObject({ hash: z.string().meta({ description: 'the new pictureHash' }) }).meta({ id: 'PictureHash', examples: [{ hash: 'c81e728d9d4c2f636f06' }] })

const permissionEntry = z.strictObject({ principal: z.union([z.number().int(), z.string()]), level: z.number().int() })
const PERMISSION_KEYS = new Set(Object.entries(PREFERENCES).filter(([, spec]) => Array.isArray(spec.def)).map(([k]) => k))

/**
 * GET|POST /user/preferences (contract §3.1): every documented key with its default, plus the
 * keys clients stored. Unversioned paths answer the three permission lists as arrays, the rest
 * as strings; /api/v1…v6 answer every value as a string (the lists as JSON text). Unknown keys
 * come back as they were stored.
 */
export const preferencesSchema = z
  .looseObject(
    Object.fromEntries(
      Object.keys(PREFERENCES).map((k) => [k, PERMISSION_KEYS.has(k) ? z.union([z.array(permissionEntry), z.string()]) : z.string()]),
    ) as Record<string, z.ZodType>,
  )
  .meta({
    id: 'Preferences',
    description: 'Every preference with its value (contract §3.1); keys a client stored besides these come back as stored',
    // every key with its default (the new format), a time zone and a sharing default set
    examples: [
      {
        ...Object.fromEntries(Object.entries(PREFERENCES).map(([k, spec]) => [k, spec.def])),
        time_zone: 'Europe/Berlin',
        default_new_item_sharing_permission: [{ principal: '5d1c8a8e-0b7a-4c3e-9a51-6f0e2d1c3b4a', level: 60 }],
      },
    ],
  })

/** GET|POST /user/external (contract §13): a linked external account (src/users/external.ts writes it) */
export const externalLinkSchema = z
  .strictObject({
    providerId: z.string().meta({ description: 'GOOGLE, or the id of a provider in OIDC_PROVIDERS' }),
    email: z.string().meta({ description: 'the address the provider gave for the account when it was linked (empty when it gave none)' }),
    time_create: dateOut().meta({ description: 'when it was linked' }),
  })
  .meta({ id: 'ExternalAccount', examples: [{ providerId: 'GOOGLE', email: 'olivia@gmail.com', time_create: '2024-05-13T10:02:41.518+02:00' }] })
export const externalLinkListSchema = z.array(externalLinkSchema)
