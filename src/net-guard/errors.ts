/** The error of a refused destination. Callers match on `code`. */
import { CodedError, type CodeOf } from '../errors.js';

export const NetGuardErrorCode = {
  /** A job's request would reach an address or host the deployment has not allowed. */
  DestinationRefused: 'FETCH_DESTINATION_REFUSED',
} as const;
export type NetGuardErrorCode = CodeOf<typeof NetGuardErrorCode>;

export interface Refusal {
  /** The host as the URL names it. */
  host: string;
  /** The address that was refused (the host itself for a refused name). */
  address: string;
  /** The refused range's name (loopback, private, metadata, ...). */
  range: string;
  /** The CIDR of that range the address lies in, or the refused host name. */
  cidr: string;
}

/**
 * Unrecoverable: the same job is refused on every attempt until the operator changes the
 * allow-list, and a job's attempts should not be spent waiting for that.
 */
export class DestinationRefusedError extends CodedError<NetGuardErrorCode> {
  readonly unrecoverable = true;
  readonly host: string;
  readonly address: string;
  readonly range: string;
  readonly cidr: string;
  constructor(
    message: string,
    refusal: Refusal,
    readonly url?: string,
  ) {
    super(NetGuardErrorCode.DestinationRefused, message);
    this.host = refusal.host;
    this.address = refusal.address;
    this.range = refusal.range;
    this.cidr = refusal.cidr;
  }
}
