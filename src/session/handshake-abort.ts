/**
 * A handshake's abort signal, made only when a mechanism reads it. The mechanisms that wait on
 * a server (the LDAP relay, Netlogon) read it; a Kerberos logon, which waits on nothing, does
 * not, and an AbortController (an EventTarget and its signal) per logon was a measurable part of
 * what a Kerberos logon costs outside the acceptor. Aborted before it is read, it gives a signal
 * already aborted.
 */
export class HandshakeAbort {
  #controller: AbortController | undefined;
  #aborted = false;

  get signal(): AbortSignal {
    if (this.#controller) return this.#controller.signal;
    this.#controller = new AbortController();
    if (this.#aborted) this.#controller.abort();
    return this.#controller.signal;
  }

  abort(): void {
    this.#aborted = true;
    this.#controller?.abort();
  }
}
