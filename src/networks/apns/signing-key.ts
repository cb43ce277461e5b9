// Checks the token-auth credentials of an `ios_token` variant before they are stored: the .p8
// signing key Apple hands out (a P-256 key in PKCS#8 PEM), its 10-character key id and the
// 10-character team id. APNs accepts nothing else for ES256 provider tokens, so a key that fails
// here would fail every send later, far from the operator who pasted it.
import { importPKCS8 } from 'jose'

const PEM_HEADER = '-----BEGIN PRIVATE KEY-----'
const PEM_FOOTER = '-----END PRIVATE KEY-----'
const APPLE_ID = /^[A-Z0-9]{10}$/

const FROM_APPLE =
  "Download a key from Apple's developer site (Keys) and paste the .p8 file unchanged."

export type ApnsCredentials = { privateKey: string; keyId: string; teamId: string }

export type ApnsCredentialsResult =
  | { ok: true; value: ApnsCredentials }
  | { ok: false; details: Record<string, string> }

// .p8 files are often pasted from Windows or with stray blank lines around them. jose needs the
// header at offset 0 and skips all whitespace inside the body, so trimming is all that's needed.
function normalizePem(pem: string): string {
  return pem.trim()
}

async function privateKeyProblem(pem: string): Promise<string | null> {
  if (!pem.startsWith(PEM_HEADER) || !pem.endsWith(PEM_FOOTER)) {
    return `privateKey must be the whole .p8 file, from "${PEM_HEADER}" to "${PEM_FOOTER}".`
  }
  try {
    await importPKCS8(pem, 'ES256')
    return null
  } catch {
    return `privateKey is not a P-256 (ES256) private key in PKCS#8 form. ${FROM_APPLE}`
  }
}

function idProblem(field: string, value: string, what: string): string | null {
  if (APPLE_ID.test(value)) return null
  return `${field} must be the 10-character ${what} (capital letters and digits).`
}

/** Validates APNs token-auth credentials; every problem found is reported at once. */
export async function checkApnsCredentials(input: ApnsCredentials): Promise<ApnsCredentialsResult> {
  const privateKey = normalizePem(input.privateKey)
  const problems = {
    privateKey: await privateKeyProblem(privateKey),
    keyId: idProblem('keyId', input.keyId, 'Key ID Apple shows for the .p8 key'),
    teamId: idProblem('teamId', input.teamId, 'Team ID of the Apple developer account'),
  }

  const details: Record<string, string> = {}
  for (const [field, problem] of Object.entries(problems)) {
    if (problem) details[field] = problem
  }
  if (Object.keys(details).length > 0) return { ok: false, details }
  return { ok: true, value: { privateKey, keyId: input.keyId, teamId: input.teamId } }
}
