// The tag object of contract §9, as service.ts writes it.
import { z } from 'zod'
import { idOut } from '../platform/responses.js'

export const tagSchema = z
  .strictObject({
    id: idOut(),
    name: z.string(),
    shared: z.boolean().meta({ description: 'the tag is on a shared item the caller can see' }),
  })
  .meta({ id: 'Tag', examples: [{ id: 31, name: 'design', shared: true }] })
export type TagView = z.output<typeof tagSchema>
