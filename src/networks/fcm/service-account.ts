// The Google service-account key file an operator gives an `android` variant: what we keep from
// it and how it is checked before it is stored. FCM HTTP v1 signs an RS256 JWT with `private_key`
// and trades it at `token_uri` for an access token.
//
// Unknown keys are dropped, not refused: Google adds keys to these files over time (auth_uri,
// client_id, client_x509_cert_url, universe_domain...) and none of them is needed to send.
import { importPKCS8 } from 'jose'
import { z } from 'zod'

export const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token'

const PKCS8_HEADER = '-----BEGIN PRIVATE KEY-----'
const PKCS1_HEADER = '-----BEGIN RSA PRIVATE KEY-----'
const FIELD = 'serviceAccount'

const REDOWNLOAD =
  'Create a key for the service account in the Google Cloud console and paste the file unchanged.'

function serviceAccountSchema(allowInsecure: boolean) {
  const protocol = allowInsecure ? /^https?$/ : /^https$/
  return z.object(
    {
      type: z
        .literal('service_account', {
          error: `type must be "service_account": this is another kind of key file. ${REDOWNLOAD}`,
        })
        .optional(),
      project_id: z
        .string({ error: 'project_id is missing: it names the Firebase project.' })
        .trim()
        .min(1, { error: 'project_id is empty: it names the Firebase project.' }),
      client_email: z.email({ error: "client_email must be the service account's email address." }),
      private_key: z.string({ error: `private_key is missing. ${REDOWNLOAD}` }),
      private_key_id: z.string({ error: 'private_key_id must be a string.' }).optional(),
      token_uri: z
        .url({
          protocol,
          error: `token_uri must be an ${allowInsecure ? 'http: or https:' : 'https:'} URL.`,
        })
        .default(DEFAULT_TOKEN_URI),
    },
    { error: 'The service account must be the key file as a JSON object.' },
  )
}

export type ServiceAccount = z.infer<ReturnType<typeof serviceAccountSchema>>

export type ServiceAccountResult =
  | { ok: true; value: ServiceAccount }
  | { ok: false; details: Record<string, string> }

function refuse(path: string, sentence: string): ServiceAccountResult {
  return { ok: false, details: { [path]: sentence } }
}

// The file may arrive as a JSON object or as a string holding it (pasted into a text field).
function fromString(input: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof input !== 'string') return { ok: true, value: input }
  try {
    return { ok: true, value: JSON.parse(input) }
  } catch {
    // The parser's message quotes the input, which may hold the key: it is not passed on.
    return { ok: false }
  }
}

// A key copied by hand out of the JSON file keeps its `\n` escapes; a PEM never contains a
// backslash, so turning them back into newlines cannot damage a valid key.
function normalizePem(pem: string): string {
  return pem.replaceAll('\\n', '\n').trim()
}

async function privateKeyProblem(pem: string): Promise<string | null> {
  if (pem.startsWith(PKCS1_HEADER)) {
    return `private_key is PKCS#1; Google key files hold PKCS#8 ("${PKCS8_HEADER}"). ${REDOWNLOAD}`
  }
  if (!pem.startsWith(PKCS8_HEADER)) {
    return `private_key must be a PEM key starting with "${PKCS8_HEADER}". ${REDOWNLOAD}`
  }
  try {
    await importPKCS8(pem, 'RS256')
    return null
  } catch {
    return `private_key is not an RSA private key in PKCS#8 PEM form. ${REDOWNLOAD}`
  }
}

/** Validates a service-account key file given as an object or as its JSON text. */
export async function parseServiceAccount(
  input: unknown,
  opts: { allowInsecure: boolean },
): Promise<ServiceAccountResult> {
  const json = fromString(input)
  if (!json.ok) return refuse(FIELD, 'The service account must be the key file as JSON.')

  const parsed = serviceAccountSchema(opts.allowInsecure).safeParse(json.value)
  if (!parsed.success) {
    const details: Record<string, string> = {}
    for (const issue of parsed.error.issues) {
      const path = [FIELD, ...issue.path.map(String)].join('.')
      details[path] ??= issue.message
    }
    return { ok: false, details }
  }

  const privateKey = normalizePem(parsed.data.private_key)
  const problem = await privateKeyProblem(privateKey)
  if (problem) return refuse(`${FIELD}.private_key`, problem)
  return { ok: true, value: { ...parsed.data, private_key: privateKey } }
}
