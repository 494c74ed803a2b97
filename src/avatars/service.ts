// User pictures (contract §3): an uploaded picture cropped to a square, the generated
// initials avatar, and the avatar images served by hash at the documented sizes. Every
// avatar is stored once, as a 200x200 PNG in the avatars table; the sizes are made on request.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'
import type { UploadedFile } from '../platform/uploads.js'
import { AVATAR_BASE_SIZE, initialsOf, renderInitialsAvatar } from './initials.js'
import { getUser } from '../users/service.js'
import { lockUserRow, setPicture, type UserRecord } from '../users/repository.js'
import { avatarImage, deleteAvatarsOf, insertAvatar } from './repository.js'

export const PICTURE_MAX_BYTES = 1024 * 1024
export const AVATAR_SIZES = [16, 20, 22, 24, 32, 40, 44, 48, 64, 80, 88, 96, 100, 128, 192, 200] as const
export const PICTURE_SOURCE = { GENERATED: 2, UPLOADED: 100 } as const
/** larger pictures are refused before decoding: a 1 MiB file can hold a huge image */
const MAX_PIXELS = 40_000_000
const ALLOWED_EXTENSIONS = new Set(['gif', 'jpeg', 'jpg', 'png'])
const ALLOWED_MIME = new Set(['image/gif', 'image/jpeg', 'image/jpg', 'image/png', 'image/pjpeg'])
/** formats sharp reports for the allowed extensions */
const ALLOWED_DECODED = new Set(['gif', 'jpeg', 'png'])

export const pictureTooLarge = () => errors.tooLarge('picture', '1MB')
const badCrop = errors.badCrop
const notAPicture = () => errors.invalidData('picture', ': the data is not a gif, jpeg or png image')

export type CropInput = { x?: unknown; y?: unknown; width?: unknown }
type Crop = { x: number; y: number; width: number }

/** x, y and width: all three or none; whole non-negative numbers (400/34 otherwise) */
function parseCrop(c: CropInput): Crop | null {
  const given = [c.x, c.y, c.width].map((v) => v !== undefined && v !== null && v !== '')
  if (given.every((g) => !g)) return null
  if (!given.every(Boolean)) throw badCrop()
  const [x, y, width] = [c.x, c.y, c.width].map((v) => (typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN))
  if (![x, y, width].every((n) => Number.isSafeInteger(n) && n! >= 0) || width! < 1) throw badCrop()
  return { x: x!, y: y!, width: width! }
}

/** the format check of the docs: by the file name's extension, else by the declared type */
function checkFormat(file: UploadedFile) {
  const ext = path.extname(file.filename).slice(1).toLowerCase()
  const ok = ext ? ALLOWED_EXTENSIONS.has(ext) : ALLOWED_MIME.has(file.mimetype.toLowerCase())
  if (!ok) throw errors.invalidFormat('picture', 'gif, jpeg, jpg or png expected')
}

/** decodes, orients (EXIF), crops to a square and scales to the stored 200x200 PNG */
export async function squarePicture(data: Buffer, cropInput: CropInput): Promise<Buffer> {
  const crop = parseCrop(cropInput)
  let meta: sharp.Metadata
  try {
    meta = await sharp(data, { limitInputPixels: false }).metadata()
  } catch {
    throw notAPicture()
  }
  if (!meta.format || !ALLOWED_DECODED.has(meta.format)) {
    // decodable, but not one of the allowed formats (a webp named .png)
    if (meta.format) throw errors.invalidFormat('picture', 'gif, jpeg, jpg or png expected')
    throw notAPicture()
  }
  if ((meta.width ?? 0) * (meta.height ?? 0) > MAX_PIXELS) throw errors.tooLarge('picture', `${MAX_PIXELS} pixels`)
  let oriented: { data: Buffer; info: sharp.OutputInfo }
  try {
    // the first frame of an animated GIF; EXIF orientation applied, as browsers show it
    oriented = await sharp(data, { pages: 1 }).rotate().png().toBuffer({ resolveWithObject: true })
  } catch {
    throw notAPicture()
  }
  const { width: w, height: h } = oriented.info
  const box = crop ?? { width: Math.min(w, h), x: Math.floor((w - Math.min(w, h)) / 2), y: Math.floor((h - Math.min(w, h)) / 2) }
  if (box.x + box.width > w || box.y + box.width > h) throw badCrop()
  return sharp(oriented.data)
    .extract({ left: box.x, top: box.y, width: box.width, height: box.width })
    .resize(AVATAR_BASE_SIZE, AVATAR_BASE_SIZE, { fit: 'fill' })
    .png()
    .toBuffer()
}

/**
 * Makes `image` the user's avatar under a new hash, replacing the previous one (its URLs
 * stop working: clients build URLs from the current pictureHash). Concurrent changes of one
 * user's picture wait for each other on the user's row: each deletes what the previous one
 * left, so one avatar remains, the one users.picture_hash names.
 */
async function replaceAvatar(deps: Deps, userId: number, image: Buffer, source: number): Promise<UserRecord> {
  const hash = crypto.randomUUID()
  return deps.db.tx(async (tx) => {
    if (!(await lockUserRow(tx, userId))) throw errors.notFound('User')
    await deleteAvatarsOf(tx, userId)
    await insertAvatar(tx, { hash, userId, source, image })
    const user = await setPicture(tx, userId, hash, source)
    if (!user) throw errors.notFound('User')
    return user
  })
}

export async function uploadPicture(deps: Deps, userId: number, files: UploadedFile[], crop: CropInput): Promise<{ hash: string }> {
  const file = files.find((f) => f.field === 'picture')
  if (!file) throw errors.mandatory('picture')
  if (file.size > PICTURE_MAX_BYTES) throw pictureTooLarge()
  checkFormat(file)
  const image = await squarePicture(await fs.promises.readFile(file.tmpPath), crop)
  const user = await replaceAvatar(deps, userId, image, PICTURE_SOURCE.UPLOADED)
  return { hash: user.pictureHash }
}

/** back to initials on a colour (pictureSource 2), under a new hash; returns the user as changed */
export async function resetPicture(deps: Deps, userId: number): Promise<UserRecord> {
  const u = await getUser(deps, userId)
  const seed = crypto.randomUUID()
  return replaceAvatar(deps, userId, await renderInitialsAvatar(initialsOf(u.firstName, u.lastName, u.login), seed), PICTURE_SOURCE.GENERATED)
}

const AVATAR_NAME = /^([A-Za-z0-9-]{1,64})\.(\d{1,4})\.gif$/

export type AvatarRequest = { hash: string; size: number; etag: string; image: Buffer }

/**
 * `<hash>.<size>.gif` → the stored avatar and the wanted size; 404/1 for an unknown hash or
 * a size outside the documented list. A hash's image never changes (a new picture gets a
 * new hash), so hash and size make the ETag.
 */
export async function findAvatar(deps: Deps, name: string): Promise<AvatarRequest> {
  const m = AVATAR_NAME.exec(name)
  const size = m ? Number(m[2]) : NaN
  if (!m || !(AVATAR_SIZES as readonly number[]).includes(size)) throw errors.notFound('Avatar')
  const image = await avatarImage(deps.db, m[1]!)
  if (!image) throw errors.notFound('Avatar')
  return { hash: m[1]!, size, etag: `"${m[1]}-${size}"`, image }
}

/** a GIF of exactly size x size */
export function renderAvatarGif(a: AvatarRequest): Promise<Buffer> {
  return sharp(a.image).resize(a.size, a.size, { fit: 'fill' }).gif().toBuffer()
}
