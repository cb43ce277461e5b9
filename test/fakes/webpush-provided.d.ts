// What test/fakes/webpush-setup.ts provides to tests through `inject`.
declare module 'vitest' {
  export interface ProvidedContext {
    /** Origin of the fake push service, `http://127.0.0.1:<port>`. */
    webPushFakeUrl: string
  }
}

export {}
