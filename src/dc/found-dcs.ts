import type { DcLocator, LocatedDc } from './dc-locator.js';
import type { DcSelector } from './dc-selector.js';

/**
 * One domain whose DCs come from DNS: keeps the selector's list for `domain` in step with the
 * locator's answer, and asks DNS again when every DC found has failed. `nameOf` turns a found DC
 * into the name the verifier dials (an LDAP URL, a Netlogon host).
 */
export class FoundDcs {
  constructor(
    readonly locator: DcLocator,
    private readonly selector: DcSelector,
    private readonly domain: string,
    private readonly nameOf: (dc: LocatedDc) => string,
  ) {}

  /** The DCs worth trying now (see DcSelector.candidates), found in DNS first if need be. */
  async candidates(): Promise<string[]> {
    await this.update();
    const candidates = this.selector.candidates(this.domain);
    if (candidates.length > 0) return candidates;
    // Every DC found is down: DNS may know others by now.
    this.locator.failed();
    await this.update();
    return this.selector.candidates(this.domain);
  }

  /** Every candidate failed: the next caller asks DNS again. */
  failed(): void {
    this.locator.failed();
  }

  /** The selector's list from the locator's current answer. */
  async update(): Promise<readonly string[]> {
    const found = await this.locator.locate();
    this.selector.setDcs(this.domain, found.map(this.nameOf));
    return this.selector.dcs(this.domain);
  }
}
