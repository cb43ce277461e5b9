/**
 * A batch's bearer token (APNs provider token, FCM access token), renewed at most once however
 * many of the batch's requests see it refused at once. The first request to see a refusal names
 * the token the network refused, always the batch's first; a request sent after that finds the
 * renewal already made.
 */
export type TokenAnswer = { ok: true; token: string } | { ok: false }

export class BatchToken<R extends TokenAnswer> {
  private renewal: Promise<R> | undefined

  constructor(
    private readonly first: string,
    private readonly renewToken: (rejected: string) => Promise<R>,
  ) {}

  async current(): Promise<string> {
    const renewed = this.renewal && (await this.renewal)
    return renewed?.ok ? renewed.token : this.first
  }

  renew(rejected: string): Promise<R> {
    this.renewal ??= this.renewToken(rejected)
    return this.renewal
  }
}
