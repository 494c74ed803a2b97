// The team (business account) shapes of contract §5: GET /business and the bare object of
// GET /list/business. service.ts writes them.
import { z } from 'zod'
import { dateOut, idOut } from '../platform/responses.js'

export const businessSchema = z
  .strictObject({
    domainName: z.string(),
    title: z.string(),
    licensesNumber: z.number().int().min(0),
    licensesUsed: z.number().int().min(0).meta({ description: 'members and pending invitations' }),
    storageQuota: z.number().int().min(0).meta({ description: 'MB' }),
    storageUsed: z.number().int().min(0).meta({ description: 'MB' }),
    storageQuotaFormatted: z.string(),
    storageUsedFormatted: z.string(),
    expirationDate: dateOut().nullable(),
    emailInbox: z.string().nullable(),
  })
  .meta({
    id: 'Business',
    description: "The caller's team (contract §5)",
    examples: [
      {
        domainName: 'acme',
        title: 'ACME',
        licensesNumber: 10,
        licensesUsed: 4,
        storageQuota: 7500,
        storageUsed: 157,
        storageQuotaFormatted: '7.50GB',
        storageUsedFormatted: '157MB',
        expirationDate: null,
        emailInbox: 'k3j9x2@in.hitask.example.com',
      },
    ],
  })

const sentInvitation = z.strictObject({
  id: idOut(),
  userId: idOut().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  declined: z.boolean(),
  inviterName: z.string(),
})
const receivedInvitation = z.strictObject({ id: idOut(), businessId: idOut(), title: z.string(), inviterName: z.string() })

/** GET /list/business: the team with invitations; without a team, its fields null and level 0 */
export const businessListSchema = z
  .strictObject({
    level: z.literal([0, 1, 2, 10, 100]).meta({ description: "the caller's business level; 0 without a team" }),
    domainName: z.string().nullable(),
    domainId: idOut().nullable(),
    canInvite: z.boolean(),
    title: z.string().nullable(),
    license_usage: z.number().int().min(0).nullable(),
    license_count: z.number().int().min(0).nullable(),
    expiration_date: dateOut().nullable(),
    emailInbox: z.string().nullable(),
    everyoneGroupId: z.string().nullable(),
    inv_sent: z.array(sentInvitation).meta({ description: 'invitations the team sent that are pending or declined' }),
    inv_get: z.array(receivedInvitation).meta({ description: "pending invitations to the caller's address" }),
    invitationLink: z.string().nullable(),
    numberOfProjects: z.number().int().min(0),
    numberOfItems: z.number().int().min(0),
    numberOfArchived: z.number().int().min(0),
    accountCreateTime: dateOut(),
    pictureHash: z.string(),
    isPremium: z.boolean(),
    emailConfirmed: z.boolean(),
  })
  .meta({
    id: 'BusinessList',
    description: "The caller's team with invitations sent and received (contract §5); the team's fields are null without a team",
    examples: [
      {
        level: 100,
        domainName: 'acme',
        domainId: 12,
        canInvite: true,
        title: 'ACME',
        license_usage: 4,
        license_count: 10,
        expiration_date: null,
        emailInbox: 'k3j9x2@in.hitask.example.com',
        everyoneGroupId: '5d1c8a8e-0b7a-4c3e-9a51-6f0e2d1c3b4a',
        inv_sent: [{ id: 1050, userId: null, firstName: 'Dana', lastName: '', declined: false, inviterName: 'Olivia Owner' }],
        inv_get: [],
        invitationLink: null,
        numberOfProjects: 2,
        numberOfItems: 14,
        numberOfArchived: 1,
        accountCreateTime: '2024-05-13T10:02:41.518+02:00',
        pictureHash: 'b7f0c0a4e3d94f0e8d1c',
        isPremium: true,
        emailConfirmed: true,
      },
    ],
  })
export type BusinessListView = z.output<typeof businessListSchema>
