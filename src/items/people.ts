// Assignee and participants against a permission list (contract §8.3): the reads the rules of
// sharing-rules.ts need (which users exist, their groups), then the rules themselves.
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { groupsOfUsers } from './permission-repository.js'
import { existingUsers } from './repository.js'
import { applyPeopleRule, levelsUnder, requireKeptPeopleSee, type NamedPerson, type PermList } from './sharing-rules.js'

/** unknown user ids among assignee/participants → 400/6 */
export async function requireUsersExist(db: Sql, ids: number[], field: string) {
  if (!ids.length) return
  const found = await existingUsers(db, ids)
  const missing = ids.find((x) => !found.has(x))
  if (missing !== undefined) throw errors.invalidData(`${field} ${missing}`)
}

/** each user's effective level under `list` (own entry or their groups') */
export async function userLevelsUnder(db: Sql, userIds: number[], list: PermList): Promise<Map<number, number>> {
  if (!userIds.length) return new Map()
  return levelsUnder(list, userIds, await groupsOfUsers(db, userIds))
}

/** newly named people: 400/75 under a parent, else shared at 50 (`list` changed in place) */
export async function admitNamedPeople(db: Sql, named: NamedPerson[], list: PermList, hasParent: boolean) {
  if (!named.length) return
  applyPeopleRule(named, await userLevelsUnder(db, named.map((n) => n.id), list), list, hasParent)
}

/** people who stay assignee or participant keep seeing the item under `list` (400/78) */
export async function requireKeptPeopleStay(db: Sql, kept: number[], list: PermList, assignee: number) {
  if (!kept.length) return
  requireKeptPeopleSee(kept, await userLevelsUnder(db, kept, list), assignee)
}

/** the named people of an input: the assignee (0: none) first, then the participants */
export function namedPeople(assignee: number, participants: number[]): NamedPerson[] {
  return [...(assignee ? [{ id: assignee, role: 'assignee' as const }] : []), ...participants.map((id) => ({ id, role: 'participant' as const }))]
}
