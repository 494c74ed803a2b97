// Image previews (contract §8.1 `previews`, docs/files.md "Previews"): for each size of
// PREVIEW_SIZES, a SQUARE one (cropped to size × size, made when the picture's shorter edge
// is at least that size) and a PROPORTIONAL one (longest edge = size, made when the longer
// edge is at least that size), never enlarged, EXIF orientation applied. JPEG, or PNG for
// pictures with transparency. Stored beside the file under `<key>.preview-<type>-<size>` and
// listed in the files row. Made before the upload's transaction: decoding an image may take
// long, a transaction should not.
import sharp from 'sharp'
import type { Deps } from '../deps.js'
import { previewKeyOf } from './names.js'
import type { Preview, PreviewType } from './repository.js'

export const PREVIEW_SIZES = [30, 60, 125, 250, 320, 500, 640, 1000] as const
export const PREVIEW_TYPES = ['SQUARE', 'PROPORTIONAL'] as const satisfies readonly PreviewType[]
/** images above this are stored without previews (decoding them would cost too much) */
const PREVIEW_MAX_PIXELS = 40_000_000
const JPEG_QUALITY = 82

/** every key makePreviews may store for the file `key` (an upload's intent covers them all) */
export const previewKeysOf = (key: string) => PREVIEW_TYPES.flatMap((type) => PREVIEW_SIZES.map((size) => previewKeyOf(key, size, type)))

/** the previews a picture of width × height gets: squares up to its shorter edge, proportional ones up to its longer */
export function plannedPreviews(width: number, height: number): { type: PreviewType; size: number }[] {
  const short = Math.min(width, height)
  const long = Math.max(width, height)
  return PREVIEW_TYPES.flatMap((type) => PREVIEW_SIZES.filter((s) => s <= (type === 'SQUARE' ? short : long)).map((size) => ({ type, size })))
}

/**
 * Previews of an image file, stored beside it → the list for its files row: null for what is
 * not a picture sharp reads (SVG included: it is never rasterised), [] for a picture too small
 * for any size or too large to decode.
 */
export async function makePreviews(deps: Deps, key: string, tmpPath: string): Promise<Preview[] | null> {
  let meta: sharp.Metadata
  try {
    meta = await sharp(tmpPath).metadata()
  } catch {
    return null
  }
  if (!meta.format || meta.format === 'svg' || !meta.width || !meta.height) return null
  if (meta.width * meta.height > PREVIEW_MAX_PIXELS) return []
  // orientations 5–8 turn the picture a quarter: its edges swap
  const turned = (meta.orientation ?? 1) >= 5
  const [width, height] = turned ? [meta.height, meta.width] : [meta.width, meta.height]
  const png = !!meta.hasAlpha
  const previews: Preview[] = []
  try {
    // the picture is decoded twice, each time to at most 1000 × 1000 pixels (orientation
    // applied): whole for the proportional previews, its central square for the square ones;
    // every preview is cut from those pixels, never enlarged
    const short = Math.min(width, height)
    const bases = {
      PROPORTIONAL: await rawOf(sharp(tmpPath, { pages: 1 }).rotate().resize(1000, 1000, { fit: 'inside', withoutEnlargement: true })),
      SQUARE: await rawOf(
        sharp(tmpPath, { pages: 1 })
          .rotate()
          .extract({ left: Math.floor((width - short) / 2), top: Math.floor((height - short) / 2), width: short, height: short })
          .resize(Math.min(short, 1000), Math.min(short, 1000)),
      ),
    }
    for (const { type, size } of plannedPreviews(width, height)) {
      const base = bases[type]
      const img = sharp(base.data, { raw: base.info }).resize(size, size, { fit: type === 'SQUARE' ? 'cover' : 'inside' })
      const { data, info } = await (png ? img.png() : img.jpeg({ quality: JPEG_QUALITY })).toBuffer({ resolveWithObject: true })
      const previewKey = previewKeyOf(key, size, type)
      const contentType = png ? 'image/png' : 'image/jpeg'
      await deps.storage.putBuffer(previewKey, data, contentType)
      previews.push({ size, type, storage_key: previewKey, content_type: contentType, width: info.width, height: info.height })
    }
  } catch (e) {
    // a file that only looked like an image: keep it, without previews
    deps.log.warn({ err: e }, 'could not make previews')
    await Promise.all(previews.map((p) => deps.storage.delete(p.storage_key).catch(() => {})))
    return null
  }
  return previews
}

async function rawOf(img: sharp.Sharp) {
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true })
  return { data, info: { width: info.width, height: info.height, channels: info.channels } }
}
