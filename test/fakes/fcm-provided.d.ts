// What test/fakes/fcm-setup.ts provides to the tests (vitest `provide` / `inject`).
declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the fake FCM: `POST /token`, `POST /v1/projects/{p}/messages:send`, `/_...`. */
    fcmUrl: string
  }
}

export {}
