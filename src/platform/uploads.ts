// A file part of a multipart request, streamed to a temporary file by src/http/params.ts
// and handed to the services that store it (files, avatars, import).
export type UploadedFile = {
  field: string
  filename: string
  mimetype: string
  /** temporary file holding the bytes; removed when the request ends */
  tmpPath: string
  size: number
}
