// The contact object of contract §7: contacts, search hits, team members and invitations to
// the team all have this shape. contactView and invitationContactView (service.ts) write it.
import { z } from 'zod'
import { accountLevelSchema, accountTypeSchema, businessLevelSchema, pictureSourceSchema } from '../users/schemas.js'
import { idOut } from '../platform/responses.js'

export const SUBSCRIPTIONS = ['BOTH', 'TO', 'FROM', 'SELF', 'BIS', 'BIS_WAIT'] as const

export const contactSchema = z
  .strictObject({
    id: idOut().meta({ description: "the user's id; for an invitation to an address without an account, the invitation's" }),
    login: z.string().nullable(),
    firstName: z.string(),
    lastName: z.string(),
    name: z.string().meta({ description: 'the full name, else the login (else the invited address)' }),
    fullName: z.string(),
    email: z.string().nullable().meta({ description: 'shown to connected users, team mates and to a search by that exact address' }),
    emailConfirmed: z.string().nullable(),
    accountType: accountTypeSchema.nullable(),
    level: accountLevelSchema,
    businessId: idOut().nullable(),
    businessLevel: businessLevelSchema.nullable(),
    isOnline: z.boolean(),
    pictureHash: z.string().nullable(),
    pictureSource: pictureSourceSchema,
    subscription: z
      .enum(SUBSCRIPTIONS)
      .nullable()
      .meta({ description: 'BOTH connected, TO I asked, FROM they asked, SELF me, BIS same team, BIS_WAIT invited to my team; null: no relation (a search hit)' }),
  })
  .meta({
    id: 'Contact',
    description: 'A user as another user sees them (contract §7)',
    examples: [
      {
        id: 1043,
        login: 'max',
        firstName: 'Max',
        lastName: 'Manager',
        name: 'Max Manager',
        fullName: 'Max Manager',
        email: 'max@example.com',
        emailConfirmed: 'max@example.com',
        accountType: 'TEAM_BUSINESS',
        level: 200,
        businessId: 12,
        businessLevel: 2,
        isOnline: false,
        pictureHash: '6512bd43d9caa6e02c99',
        pictureSource: 2,
        subscription: 'BIS',
      },
    ],
  })
export type ContactView = z.output<typeof contactSchema>
export const contactListSchema = z.array(contactSchema)
