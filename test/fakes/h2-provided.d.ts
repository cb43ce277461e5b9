// What test/fakes/h2-setup.ts provides to tests through `inject`.
declare module 'vitest' {
  export interface ProvidedContext {
    /** Origin of the control server that makes fake HTTP/2 servers, `http://127.0.0.1:<port>`. */
    h2FakeUrl: string
  }
}

export {}
