// A team's email-in address (contract §12): its random local part (businesses.email_inbox,
// made by the database when the team is created) at INBOUND_MAIL_DOMAIN. Without that domain
// configured, teams show no emailInbox.
import type { Config } from '../platform/config.js'

export function inboxAddress(config: Pick<Config, 'INBOUND_MAIL_DOMAIN'>, localPart: string | null | undefined): string | null {
  return localPart && config.INBOUND_MAIL_DOMAIN ? `${localPart}@${config.INBOUND_MAIL_DOMAIN}` : null
}
