// The group object of contract §6, as service.ts writes it.
import { z } from 'zod'
import { idOut } from '../platform/responses.js'

export const groupSchema = z
  .strictObject({
    id: z.string().meta({ description: 'a group id is a permission principal (contract §8.3)' }),
    name: z.string(),
    code: z.string().nullable(),
    color: z.string().nullable(),
    members: z.array(idOut()).meta({ description: 'user ids' }),
    type: z.literal([0, 1]).meta({ description: "1: the team's Everyone group (code EVERYONE, always every member); 0: any other" }),
  })
  .meta({
    id: 'Group',
    examples: [{ id: '5d1c8a8e-0b7a-4c3e-9a51-6f0e2d1c3b4a', name: 'Design', code: 'DES', color: '#e67e22', members: [1043, 1044], type: 0 }],
  })
export type GroupView = z.output<typeof groupSchema>
