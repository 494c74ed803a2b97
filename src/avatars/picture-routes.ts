// The signed-in user's picture (contract §3): upload with an optional square crop, or back
// to the generated initials avatar.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { bool, opt } from '../platform/fields.js'
import { PICTURE_MAX_BYTES, pictureTooLarge, resetPicture, uploadPicture } from './service.js'
import { userView } from '../users/view.js'
import { ok } from '../platform/responses.js'
import { pictureSchema, userSchema } from '../users/schemas.js'

// crop values are checked by the service: anything wrong with them is 400/34
const cropValue = opt(z.union([z.string().max(20), z.number()]))

const register: RouteModule = (route, deps) => {
  route({
    method: 'POST',
    url: '/user/picture',
    params: z.object({ x: cropValue, y: cropValue, width: cropValue }),
    files: { maxBytes: PICTURE_MAX_BYTES, tooLarge: pictureTooLarge, field: 'picture' },
    summary: 'Upload a picture (multipart `picture`, gif/jpeg/png ≤ 1 MB), optionally cropped to the square x, y, width',
    tags: ['user'],
    errors: [4, 5, 6, 7, 25, 34],
    response: pictureSchema,
    handler: ({ p, user, files }) => uploadPicture(deps, user.id, files, p),
  })
  route({
    method: 'DELETE',
    url: '/user/picture',
    params: z.object({ returninfo: opt(bool()), returnInfo: opt(bool()) }),
    summary: 'Back to the generated initials avatar; returninfo=true answers the user object',
    tags: ['user'],
    errors: [7],
    response: z.union([userSchema, ok]).meta({ description: 'The user with returninfo=true, else {"response_status":0}' }),
    handler: async ({ p, user }) => {
      const u = await resetPicture(deps, user.id)
      return (p.returninfo ?? p.returnInfo) ? userView(u) : { response_status: 0 }
    },
  })
}
export default register
