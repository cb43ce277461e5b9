/** An installation as UPS clients read it. */
import type { Installation } from '../db/installations'

export function presentInstallation(row: Installation) {
  return {
    id: row.id,
    deviceToken: row.deviceToken,
    alias: row.alias,
    deviceType: row.deviceType,
    operatingSystem: row.operatingSystem,
    osVersion: row.osVersion,
    platform: row.platform,
    enabled: row.enabled,
    categories: row.categories.map((name) => ({ name })),
  }
}
