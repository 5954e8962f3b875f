// Runs this process's clock from the capture time of the saved Kerberos token in
// test/fixtures/kerberos, so that its ticket is valid and fresh authenticators minted from it are
// on time: for probes of Kerberos logons without a DC (`node --import bench/lib/fixture-clock.mjs`,
// in the server and in the process that mints). Only Date moves; performance.now() and timers do not.
const CAPTURED = Date.parse('2026-11-23T13:11:00Z');
const RealDate = Date;
const offset = RealDate.now() - CAPTURED;

globalThis.Date = class extends RealDate {
  constructor(...args) {
    super(...(args.length ? args : [RealDate.now() - offset]));
  }
  static now() {
    return RealDate.now() - offset;
  }
};
