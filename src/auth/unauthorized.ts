/**
 * The one 401 of the API. An unknown id and a wrong secret get the same answer, so a caller
 * cannot learn which ids exist.
 */
import { ApiError } from '../http/errors'

export function unauthorized(scheme: 'Basic' | 'Bearer') {
  return new ApiError(401, 'Unauthorized Request', undefined, {
    'WWW-Authenticate': `${scheme} realm="pushgate"`,
  })
}
