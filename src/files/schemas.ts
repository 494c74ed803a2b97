// What /file/url answers (contract §8.2); an upload answers the item (src/items/schemas.ts).
import { z } from 'zod'

export const fileUrlSchema = z
  .strictObject({
    content_type: z.string(),
    mime_type: z.string(),
    url: z.string().meta({ description: 'downloads the bytes without a session until it expires (signed)' }),
  })
  .meta({
    id: 'FileUrl',
    examples: [{ content_type: 'image/png', mime_type: 'image/png', url: 'https://hitask.example.com/api/file/2001?expires=1716000000&signature=abc' }],
  })
