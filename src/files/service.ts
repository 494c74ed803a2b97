// File items (contract §8.2 `/file/*`, docs/files.md): an upload becomes a category-5 item
// with a files row; the bytes live in the storage backend under a server-made key, image
// previews beside them. Quota counters move in the same transaction as the files row (a
// trigger on files, migration file_accounting), and removed rows queue their blobs in
// deleted_blobs, which removeBlobs and the sweep empty, whatever path deleted the row.
//
// What routes and other domains call, by module:
//   upload.ts        uploadFile                                   POST /file/upload
//   download.ts      fileUrl, openDownload                        GET /file/url, GET /file/{id}
//   copies.ts        prepareFileCopies, insertFileCopies          restore as a copy (archive)
//   blob-cleanup.ts  removeBlobs, startSweeps (sweepDeletedBlobs, sweepStaleTempFiles)
//   rebuild-previews.ts rebuildPreviews                           npm run cli -- previews rebuild
// and underneath: quota.ts (the quota rule), previews.ts, names.ts (names, content types,
// storage keys), signed-urls.ts, repository.ts (every query).
export { FILE_CATEGORY, fileTooLarge, uploadFile, type UploadInput } from './upload.js'
export { fileUrl, openDownload, type Download } from './download.js'
export { insertFileCopies, prepareFileCopies, type PreparedCopy } from './copies.js'
export { removeBlobs, startSweeps, sweepDeletedBlobs, sweepStaleTempFiles } from './blob-cleanup.js'
export { PREVIEW_SIZES, PREVIEW_TYPES } from './previews.js'
export { rebuildPreviews, type RebuildResult } from './rebuild-previews.js'
export { contentDisposition, fileNameOf } from './names.js'
export type { FileRow, Preview } from './repository.js'
