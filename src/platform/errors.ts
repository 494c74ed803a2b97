// The error registry: every error the API answers with is one entry here, with its response
// code (hitask-docs/errors.md), its HTTP status (contract §10) and its message template,
// defined once. Services throw `errors.<name>(…)`; the HTTP layer (src/http/error-handler.ts)
// turns an ApiError into the envelope {"error_message", "response_status"}. Nothing outside
// this file builds an ApiError from a bare code.

/** Response codes of hitask-docs/errors.md that this server answers with. */
export const Code = {
  OK: 0,
  NOT_FOUND: 1,
  NO_PERMISSIONS: 3,
  IS_MANDATORY: 4,
  INVALID_DATA_FORMAT: 5,
  INVALID_DATA: 6,
  SESSION_NOT_FOUND: 7,
  INVALID_API_KEY: 8,
  INVALID_JSON_VERSION: 9,
  STALE_OBJECT: 10,
  LICENSE_OVERUSE: 12,
  CONTACT_SELF_ADD: 14,
  CONTACT_EXIST: 15,
  USER_ALREADY_IN_BUSINESS: 16,
  OPERATION_NOT_ALLOWED: 17,
  EMAIL_NOT_VALIDATED: 19,
  LIMIT_EXCEED: 20,
  LOGIN_ID_TAKEN: 21,
  EMAIL_ALREADY_REGISTERED: 22,
  EXCEEDED_SIZE: 25,
  PICTURE_UPLOAD_ERROR: 32,
  NOT_BUSINESS_USER: 33,
  INVALID_PICTURE_CROP_PARAMETERS: 34,
  PASSWORD_NOT_MATCH: 36,
  BUSINESS_DOMAIN_NAME_USED: 37,
  REGISTER_INVALID_EMAIL_FORMAT: 38,
  REGISTER_INVALID_LOGIN_FORMAT: 39,
  REGISTER_INVALID_NAME_FORMAT: 40,
  API_KEY_ALREADY_EXISTS: 43,
  INVITATION_USED: 45,
  INVALID_JSON_BODY: 46,
  INVALID_RECURRING_INTERVAL: 47,
  UNSUPPORTED_EXTERNAL_PROVIDER_ID: 49,
  EXTERNAL_ACCOUNT_DETAILS_INVALID: 50,
  EXTERNAL_ACCOUNT_EMAIL_DOES_NOT_MATCH_INVITATION_EMAIL: 51,
  EXTERNAL_ACCOUNT_ALREADY_LINKED: 56,
  EXTERNAL_ACCOUNT_TYPE_ALREADY_LINKED: 57,
  CUSTOM_API_KEY_USAGE_LIMIT_EXCEEDED: 67,
  UNABLE_TO_SHARE_BECAUSE_OF_PROJECT: 73,
  UNABLE_TO_ALTER_PERMISSION_OF_CHILD_TASK: 74,
  UNABLE_TO_ASSIGN_OR_PARTICIPATE_BECAUSE_NO_PERMISSIONS: 75,
  OWNER_CANT_CHANGE_OWN_PERMISSION: 76,
  UNABLE_TO_DOWNGRADE_PERMISSION: 77,
  UNABLE_TO_REMOVE_PERMISSION_OF_ASSIGNEE_OR_PARTICIPANT: 78,
  USER_ALREADY_INVITED_IN_THIS_TEAM: 79,
  SHORT_NAME_ALREADY_USED: 80,
  UNABLE_TO_PARSE_FILE: 81,
  PARSED_FILE_CONTAINS_NO_ENTRIES: 82,
  FILE_FORMAT_NOT_SUPPORTED: 83,
  INTERNAL_ERROR: 100,
  NOT_VALID_PREFERENCES: 102,
  ONE_OF_IS_MANDATORY: 104,
} as const
export type CodeValue = (typeof Code)[keyof typeof Code]

/** HTTP status by code (contract §10). 20 and 25 vary by route: their entries pass it. */
export function statusForCode(code: number): number {
  switch (code) {
    case 1:
      return 404
    case 3:
    case 17:
    case 19:
      return 403
    case 7:
    case 8:
      return 401
    case 10:
      return 409
    case 15:
    case 16:
    case 45:
    case 79:
      return 412
    case 67:
      return 429
    case 100:
      return 500
    default:
      return 400
  }
}

export class ApiError extends Error {
  readonly status: number
  constructor(
    readonly code: number,
    message: string,
    status?: number,
    readonly headers?: Record<string, string>,
  ) {
    super(message)
    this.name = 'ApiError'
    this.status = status ?? statusForCode(code)
  }
  /** read by plugins (rate-limit) that inspect thrown errors */
  get statusCode() {
    return this.status
  }
}

const e = (code: number, message: string, status?: number, headers?: Record<string, string>) => new ApiError(code, message, status, headers)
const detail = (d: string) => (d ? ': ' + d : '')

/**
 * Every error of the API, by name. Message templates are those of hitask-docs/errors.md
 * filled in; a `detail` says what exactly was wrong.
 */
export const errors = {
  // 1, 3, 4, 5, 6: the generic ones, named by the field or the thing
  notFound: (what = 'Item') => e(Code.NOT_FOUND, `${what} not found`),
  noPermissions: (d = '') => e(Code.NO_PERMISSIONS, `No enough permissions${detail(d)}`),
  wrongLogin: () => e(Code.NO_PERMISSIONS, 'No enough permissions: login or password is incorrect'),
  mandatory: (field: string, d = '') => e(Code.IS_MANDATORY, `${field} is mandatory${d ? ' ' + d : ''}`),
  oneOfMandatory: (fields: string[]) => e(Code.ONE_OF_IS_MANDATORY, `One of the parameters ${fields.join(', ')} is mandatory`),
  invalidFormat: (field: string, d = '') => e(Code.INVALID_DATA_FORMAT, `Invalid data format of ${field}${detail(d)}`),
  invalidData: (field: string, d = '') => e(Code.INVALID_DATA, `${field} is not valid${d ? ' ' + d : ''}`),
  invalidJsonBody: () => e(Code.INVALID_JSON_BODY, 'The JSON body you provided in request is invalid'),
  tooLarge: (field: string, max: number | string, status = 400) => e(Code.EXCEEDED_SIZE, `Maximum size for ${field} is ${max}`, status),
  /** a zod refinement's own code (src/platform/fields.ts `fail`) */
  withCode: (code: number, message: string) => e(code, message),

  // 2: sessions, keys, versions, limits
  sessionNotFound: () => e(Code.SESSION_NOT_FOUND, 'Session not found, please authenticate first'),
  /** a multipart file part larger than `max` bytes arrived before any session id (docs/security.md) */
  sessionNotFoundBeforeFile: (max: number) =>
    e(Code.SESSION_NOT_FOUND, `Session not found, please authenticate first (send session_id before a file larger than ${max} bytes)`),
  /** a cookie-authenticated request that changes something, from another site (contract §15) */
  crossSiteRequest: () => e(Code.NO_PERMISSIONS, 'No enough permissions: cross-site request'),
  invalidApiKey: () => e(Code.INVALID_API_KEY, 'Invalid API Key'),
  apiKeyExists: () => e(Code.API_KEY_ALREADY_EXISTS, 'You already created the API key, please delete it before creating the new'),
  apiVersion: (max: number) => e(Code.INVALID_JSON_VERSION, `API version must be ${max} or lower`),
  tooManyRequests: (headers: Record<string, string>) => e(Code.CUSTOM_API_KEY_USAGE_LIMIT_EXCEEDED, 'You are performing too many API requests per second', 429, headers),
  limitExceeded: (what: string) => e(Code.LIMIT_EXCEED, `${what} limit exceeded`, 507),
  /** one request's permission work over MAX_CASCADE_ITEMS (contract §15): 400, not 507 */
  cascadeTooLarge: (work: number, max: number) =>
    e(Code.LIMIT_EXCEED, `Permission change limit exceeded: it would write ${work} item permissions, at most ${max} are allowed in one request`, 400),
  tooManyInvitations: (headers: Record<string, string>) => e(Code.CUSTOM_API_KEY_USAGE_LIMIT_EXCEEDED, 'You are sending too many invitations: please try again later', 429, headers),

  // 3: accounts
  loginTaken: () => e(Code.LOGIN_ID_TAKEN, 'Login id is already taken'),
  emailRegistered: () => e(Code.EMAIL_ALREADY_REGISTERED, 'Email is already registered'),
  badEmail: () => e(Code.REGISTER_INVALID_EMAIL_FORMAT, 'Invalid data format of email'),
  badLogin: () => e(Code.REGISTER_INVALID_LOGIN_FORMAT, 'Invalid data format of user name'),
  badName: () => e(Code.REGISTER_INVALID_NAME_FORMAT, 'Invalid data format of first name or last name'),
  passwordMismatch: () => e(Code.PASSWORD_NOT_MATCH, 'Provided password does not match your current password'),
  emailNotConfirmed: () => e(Code.EMAIL_NOT_VALIDATED, 'Email is not confirmed: please confirm your email address'),
  badToken: () => e(Code.INVALID_DATA, 'token is not valid: unknown, expired or already used'),
  badCrop: () => e(Code.INVALID_PICTURE_CROP_PARAMETERS, 'Crop parameters are invalid'),
  preferences: () => e(Code.NOT_VALID_PREFERENCES, 'Not valid preferences'),
  externalProvider: () => e(Code.UNSUPPORTED_EXTERNAL_PROVIDER_ID, 'Such external social provider is not supported'),
  externalAccount: () => e(Code.EXTERNAL_ACCOUNT_DETAILS_INVALID, 'External account details are not full or invalid'),
  externalInvitationEmail: () => e(Code.EXTERNAL_ACCOUNT_EMAIL_DOES_NOT_MATCH_INVITATION_EMAIL, 'External account email must be equal to email used in this invitation'),
  externalLinkedElsewhere: (provider: string) => e(Code.EXTERNAL_ACCOUNT_ALREADY_LINKED, `This ${provider} account is already used by another user`),
  externalTypeLinked: () => e(Code.EXTERNAL_ACCOUNT_TYPE_ALREADY_LINKED, 'You already have external account of this type linked'),

  // 5, 6, 7: teams, groups, contacts
  notInTeam: () => e(Code.NOT_BUSINESS_USER, 'You are not a business user'),
  alreadyInTeam: (who: string) => e(Code.USER_ALREADY_IN_BUSINESS, `User ${who} already in a business group`),
  alreadyInvited: (who: string) => e(Code.USER_ALREADY_INVITED_IN_THIS_TEAM, `User ${who} already invited in current team`),
  invitationUsed: () => e(Code.INVITATION_USED, 'Invitation already used'),
  licenceOveruse: () => e(Code.LICENSE_OVERUSE, 'You have no enough licenses to add new user'),
  domainName: (d = 'This domain name is already in use') => e(Code.BUSINESS_DOMAIN_NAME_USED, d),
  notAllowed: (operation: string) => e(Code.OPERATION_NOT_ALLOWED, `${operation} operation is not allowed`),
  contactSelf: () => e(Code.CONTACT_SELF_ADD, "You can't add yourself to the contact list"),
  contactExists: () => e(Code.CONTACT_EXIST, 'Contact already exists'),

  // 8: items and their permissions
  staleObject: (changedOn: string) => e(Code.STALE_OBJECT, `You are trying to update old object, which was changed on ${changedOn}`),
  shortNameUsed: () => e(Code.SHORT_NAME_ALREADY_USED, 'Short name already used'),
  notOnParent: (principal: string) => e(Code.UNABLE_TO_SHARE_BECAUSE_OF_PROJECT, `Unable to add ${principal} because project/parent item is not shared with ${principal}`),
  removedFromParent: (principal: string) =>
    e(Code.UNABLE_TO_ALTER_PERMISSION_OF_CHILD_TASK, `${principal} permission can not be removed because it will conflict with parent ${principal} permissions.`),
  noAccessForRole: (userId: number, role: string) => e(Code.UNABLE_TO_ASSIGN_OR_PARTICIPATE_BECAUSE_NO_PERMISSIONS, `${userId} can not be ${role} because they don't have access to project`),
  ownerLevel: (owner: string) => e(Code.OWNER_CANT_CHANGE_OWN_PERMISSION, `Owner ${owner} is not allowed to change own permission`),
  belowParent: (principal: string, level: number, floor: number) =>
    e(Code.UNABLE_TO_DOWNGRADE_PERMISSION, `Permission '${principal}' downgrade to '${level}' is not allowed because parent has '${floor}' for this principal`),
  keepsPeople: (role: string, userId: number) => e(Code.UNABLE_TO_REMOVE_PERMISSION_OF_ASSIGNEE_OR_PARTICIPANT, `Cannot remove ${role} ${userId} permission`),
  recurringInterval: (min: number, max: number) =>
    e(Code.INVALID_RECURRING_INTERVAL, `Minimum recurring interval value is ${min}. Maximum recurring interval value is ${max}`),

  // 12: notifications, push, webhooks
  /** a webhook URL or push endpoint that is not http(s) or resolves to a non-public address (400/6) */
  endpointRefused: (field: string, why: string) => e(Code.INVALID_DATA, `${field} is not valid: ${why}`),
  webhookLimit: (max: number) => e(Code.INVALID_DATA, `webhooks is not valid: at most ${max} webhooks per user`),
  pushLimit: (max: number) => e(Code.INVALID_DATA, `subscription is not valid: at most ${max} push subscriptions per user`),

  // 11: import
  unparsableFile: () => e(Code.UNABLE_TO_PARSE_FILE, 'Unable to parse the file'),
  emptyFile: () => e(Code.PARSED_FILE_CONTAINS_NO_ENTRIES, 'Parsed file contains 0 entries'),
  fileFormat: () => e(Code.FILE_FORMAT_NOT_SUPPORTED, 'File format is not supported'),

  // 100: the server's side
  internal: (requestId: string) => e(Code.INTERNAL_ERROR, `Internal error (request ${requestId})`),
  unavailable: (what = 'Service temporarily unavailable, please retry', retryAfterSeconds = 5) =>
    e(Code.INTERNAL_ERROR, what, 503, { 'Retry-After': String(retryAfterSeconds) }),
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, database dropped, idle
  // session timeout, connection failures, too many connections, the database does not exist
  // (dropped under the server)
  '57P01', '57P02', '57P03', '57P04', '57P05', '08000', '08001', '08003', '08004', '08006', '53300', '3D000',
])

/** The database (or the network to it) is gone or saturated: a 503 the client may retry, not a bug. */
type ErrorLike = { name?: unknown; code?: unknown; errno?: unknown; message?: unknown; cause?: unknown }

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let x = error as ErrorLike | undefined, depth = 0; x && depth < 5; x = x.cause as ErrorLike | undefined, depth++) {
    if (x.name === 'DbUnavailableError') return true
    if (UNAVAILABLE_CODES.has(x.code as string) || UNAVAILABLE_CODES.has(x.errno as string)) return true
    const msg = String(x.message ?? '')
    if (/Connection terminated|connection timeout|terminating connection|the database system is (starting|shutting) up|Client has encountered a connection error|Cannot use a pool after calling end/i.test(msg)) return true
  }
  return false
}
