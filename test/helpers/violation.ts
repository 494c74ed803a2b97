/** the line prefix a checked server process writes a response-check violation after */
export const VIOLATION = 'RESPONSE CHECK VIOLATION'
/** the line a checked server process writes first */
export const CHECKED = 'response check: on'
