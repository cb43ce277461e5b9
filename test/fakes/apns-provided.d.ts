// What test/fakes/apns-setup.ts provides to the tests (vitest `provide` / `inject`).
declare module 'vitest' {
  export interface ProvidedContext {
    /** Origin of the fake APNs over HTTP/1.1: `POST /3/device/<token>` and the `/_...` control. */
    apnsUrl: string
    /** Origin of the same fake over HTTP/2 with prior knowledge (h2c), Apple's stream limits. */
    apnsH2Url: string
  }
}

export {}
